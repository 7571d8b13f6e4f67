"""The one gateway interface the trading engine talks to.

Simulation, dry-run (paper) and live only differ in which implementation they get. Values are
Decimal; times are aware UTC datetimes or epoch milliseconds where the exchange speaks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

OrderSideLiteral = Literal["buy", "sell"]
OrderTypeLiteral = Literal["market", "limit"]
# ccxt's unified order statuses.
OrderStatusLiteral = Literal["open", "closed", "canceled", "expired", "rejected"]


@dataclass(frozen=True)
class Market:
    symbol: str  # ccxt unified, e.g. "BTC/USDT:USDT"
    exchange_symbol: str  # the exchange's own, e.g. "BTCUSDT"
    base: str
    quote: str
    price_step: Decimal
    amount_step: Decimal
    min_amount: Decimal
    min_notional: Decimal
    max_leverage: int
    contract: bool = True


@dataclass(frozen=True)
class Ticker:
    symbol: str
    last: Decimal
    bid: Decimal | None
    ask: Decimal | None
    timestamp_ms: int


@dataclass(frozen=True)
class OrderBook:
    symbol: str
    bids: Sequence[tuple[Decimal, Decimal]]
    asks: Sequence[tuple[Decimal, Decimal]]
    timestamp_ms: int


@dataclass(frozen=True)
class Balance:
    currency: str
    total: Decimal
    free: Decimal
    used: Decimal


@dataclass(frozen=True)
class Position:
    symbol: str
    side: Literal["long", "short"]
    amount: Decimal  # base units, positive
    entry_price: Decimal
    leverage: int
    unrealized_pnl: Decimal
    liquidation_price: Decimal | None = None


@dataclass(frozen=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: OrderSideLiteral
    type: OrderTypeLiteral
    amount: Decimal
    price: Decimal | None = None
    reduce_only: bool = False


@dataclass(frozen=True)
class OrderSnapshot:
    """What the exchange says about an order now."""

    client_order_id: str
    exchange_order_id: str
    symbol: str
    side: OrderSideLiteral
    type: str
    status: OrderStatusLiteral
    amount: Decimal
    filled: Decimal
    remaining: Decimal
    price: Decimal | None
    average: Decimal | None
    cost: Decimal
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    timestamp_ms: int | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class KeyCheck:
    """Result of validating an API key with a signed call."""

    valid: bool
    message: str
    can_trade: bool | None = None
    can_trade_futures: bool | None = None
    can_withdraw: bool | None = None
    balances: tuple[Balance, ...] = ()
    checked_at: datetime | None = None
    field: str | None = None  # the input at fault when invalid: "api_key" or "api_secret"


@runtime_checkable
class ExchangeGateway(Protocol):
    """Async so that live calls (ccxt async) never block; paper and simulated gateways comply trivially."""

    exchange_id: str

    async def load_markets(self) -> dict[str, Market]: ...
    async def fetch_ticker(self, symbol: str) -> Ticker: ...
    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook: ...
    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]: ...
    async def fetch_balance(self) -> dict[str, Balance]: ...
    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]: ...
    async def set_leverage(self, symbol: str, leverage: int) -> None: ...
    async def create_order(self, request: OrderRequest) -> OrderSnapshot: ...
    async def cancel_order(self, symbol: str, *, exchange_order_id: str | None = None,
                           client_order_id: str | None = None) -> OrderSnapshot: ...
    async def fetch_order(self, symbol: str, *, exchange_order_id: str | None = None,
                          client_order_id: str | None = None) -> OrderSnapshot: ...
    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]: ...
    async def close(self) -> None: ...
