"""Dry-run's exchange: a paper account behind the same ExchangeGateway interface, with live prices.

Market data (markets, tickers) comes from the exchange's public API; orders never leave the process.
A market order fills at the live last price (taker fee); a limit order fills at once when it is
marketable (taker, at the last price), else rests and fills at its limit price when the live price
reaches it (maker). Fees are the user's fee level. Orders go through the same order layer as live
ones (rows persisted as "submitting" before the paper account sees them), so a dry-run game is the
same code path as a live one. The book is rebuilt from the run's order rows after a restart.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from trading.gateways import errors as gw
from trading.gateways.base import Balance, Market, OrderBook, OrderRequest, OrderSnapshot, Position, Ticker

ZERO = Decimal(0)
PAPER_CAPITAL = Decimal("10000")
PriceSource = Callable[[str], Awaitable[Decimal]]


@dataclass
class PaperOrder:
    request: OrderRequest
    exchange_order_id: str
    status: str = "open"
    filled: Decimal = ZERO
    average: Decimal | None = None
    fee: Decimal = ZERO
    timestamp_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def snapshot(self) -> OrderSnapshot:
        request = self.request
        return OrderSnapshot(
            client_order_id=request.client_order_id, exchange_order_id=self.exchange_order_id,
            symbol=request.symbol, side=request.side, type=request.type, status=self.status,  # type: ignore[arg-type]
            amount=request.amount, filled=self.filled, remaining=request.amount - self.filled, price=request.price,
            average=self.average, cost=self.filled * (self.average or ZERO), fee=self.fee, fee_currency="USDT",
            timestamp_ms=self.timestamp_ms,
        )


class PaperGateway:
    """One paper account (one dry-run). `price` returns the live last price of a symbol."""

    def __init__(self, *, exchange_id: str, public: Any, price: PriceSource, maker: Decimal, taker: Decimal,
                 capital: Decimal = PAPER_CAPITAL):
        self.exchange_id = exchange_id
        self.public = public
        self._price = price
        self.maker, self.taker = maker, taker
        self.orders: dict[str, PaperOrder] = {}
        self.positions: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (signed amount, entry price)
        self.leverage: dict[str, int] = {}
        self.wallet = capital
        self._ids = itertools.count(int(time.time()))

    # ------------------------------------------------------------------ market data (live)
    async def load_markets(self) -> dict[str, Market]:
        return await self.public.load_markets()

    async def fetch_ticker(self, symbol: str) -> Ticker:
        return await self.public.fetch_ticker(symbol)

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        return await self.public.fetch_order_book(symbol, limit)

    async def fetch_ohlcv(self, symbol: str, timeframe: str, since_ms: int | None = None,
                          limit: int | None = None) -> list[list[float]]:
        return await self.public.fetch_ohlcv(symbol, timeframe, since_ms, limit)

    # ------------------------------------------------------------------ account
    async def fetch_balance(self) -> dict[str, Balance]:
        return {"USDT": Balance(currency="USDT", total=self.wallet, free=self.wallet, used=ZERO)}

    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        rows = []
        for symbol, (amount, entry) in self.positions.items():
            if amount and (not symbols or symbol in symbols):
                rows.append(Position(symbol=symbol, side="long" if amount > 0 else "short", amount=abs(amount),
                                     entry_price=entry, leverage=self.leverage.get(symbol, 1), unrealized_pnl=ZERO))
        return rows

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        self.leverage[symbol] = int(leverage)

    # ------------------------------------------------------------------ orders
    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        if request.client_order_id in self.orders:
            raise gw.DuplicateClientOrderId("duplicate client order id")
        if request.reduce_only and not self._reduces(request):
            raise gw.InvalidOrder("reduce-only", user_message="A reduce-only order would not reduce the position.")
        order = PaperOrder(request=request, exchange_order_id=f"paper{next(self._ids)}")
        self.orders[request.client_order_id] = order
        last = await self._price(request.symbol)
        if request.type == "market" or self._marketable(request, last):
            self._fill(order, last, self.taker)
        return order.snapshot()

    async def cancel_order(self, symbol: str, *, exchange_order_id: str | None = None,
                           client_order_id: str | None = None) -> OrderSnapshot:
        order = await self._find(client_order_id, exchange_order_id, match=True)
        if order.status != "open":
            raise gw.OrderNotFound("not open", user_message="The exchange does not know this order (or it is "
                                                            "already closed).")
        order.status = "canceled"
        return order.snapshot()

    async def fetch_order(self, symbol: str, *, exchange_order_id: str | None = None,
                          client_order_id: str | None = None) -> OrderSnapshot:
        return (await self._find(client_order_id, exchange_order_id, match=True)).snapshot()

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        await self.match_all()
        return [o.snapshot() for o in self.orders.values()
                if o.status == "open" and (symbol is None or o.request.symbol == symbol)]

    async def close(self) -> None:
        return None

    # ------------------------------------------------------------------ matching
    async def match_all(self) -> None:
        for symbol in {o.request.symbol for o in self.orders.values() if o.status == "open"}:
            self.match(symbol, await self._price(symbol))

    def match(self, symbol: str, last: Decimal) -> None:
        """Resting limit orders the live price has reached fill at their limit price (maker)."""
        for order in self.orders.values():
            if order.status == "open" and order.request.symbol == symbol and self._marketable(order.request, last):
                self._fill(order, order.request.price or last, self.maker)

    async def _find(self, client_order_id: str | None, exchange_order_id: str | None, *, match: bool) -> PaperOrder:
        order = self.orders.get(client_order_id or "")
        if order is None and exchange_order_id:
            order = next((o for o in self.orders.values() if o.exchange_order_id == exchange_order_id), None)
        if order is None:
            raise gw.OrderNotFound("unknown order")
        if match and order.status == "open":
            self.match(order.request.symbol, await self._price(order.request.symbol))
        return order

    @staticmethod
    def _marketable(request: OrderRequest, last: Decimal) -> bool:
        if request.type != "limit" or request.price is None:
            return False
        return last >= request.price if request.side == "sell" else last <= request.price

    def _reduces(self, request: OrderRequest) -> bool:
        amount, _ = self.positions.get(request.symbol, (ZERO, ZERO))
        direction = 1 if request.side == "buy" else -1
        return amount * direction < 0 and request.amount <= abs(amount)

    def _fill(self, order: PaperOrder, price: Decimal, rate: Decimal) -> None:
        request = order.request
        order.status, order.filled, order.average = "closed", request.amount, price
        order.fee = request.amount * price * rate
        self._book(request.symbol, request.amount if request.side == "buy" else -request.amount, price, order.fee)

    def _book(self, symbol: str, signed: Decimal, price: Decimal, fee: Decimal) -> None:
        amount, entry = self.positions.get(symbol, (ZERO, ZERO))
        realized = ZERO
        if amount == 0 or (amount > 0) == (signed > 0):
            total = amount + signed
            entry = (abs(amount) * entry + abs(signed) * price) / abs(total)
            amount = total
        else:
            closing = min(abs(signed), abs(amount))
            realized = closing * (price - entry) * (1 if amount > 0 else -1)
            amount += signed
            if amount == 0:
                entry = ZERO
            elif (amount > 0) == (signed > 0):
                entry = price
        self.positions[symbol] = (amount, entry)
        self.wallet += realized - fee

    # ------------------------------------------------------------------ restart
    def restore(self, rows: Iterable[Any]) -> None:
        """Rebuild the book from the run's order rows (bots.Order): fills make the position, open limit
        orders rest again. Rows are taken in creation order."""
        for row in rows:
            request = OrderRequest(client_order_id=row.client_order_id, symbol=row.symbol, side=row.side,
                                   type=row.type, amount=row.amount, price=row.price, reduce_only=row.reduce_only)
            order = PaperOrder(request=request, exchange_order_id=row.exchange_order_id or f"paper{next(self._ids)}")
            if row.status == "open":
                self.orders[row.client_order_id] = order
            elif row.filled and row.average is not None:
                order.status, order.filled, order.average, order.fee = "closed", row.filled, row.average, row.fee
                self.orders[row.client_order_id] = order
                self._book(row.symbol, row.filled if row.side == "buy" else -row.filled, row.average, row.fee)
