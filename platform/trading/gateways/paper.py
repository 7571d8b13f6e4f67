"""The paper gateway (dry-run): live market data, orders that never leave, fills by the simulation's model.

Market data comes from a live gateway (usually `LiveGatewayPool.public(exchange)`, or any object with
the same methods, e.g. a candle feed). Orders fill with `trading.fills`, exactly like a simulation:

- a market order fills at the open of the bar that follows the decision — in real time that is the
  bar of `timeframe` forming now — moved against the taker by `slippage_bps`; fee = fee_rate × notional;
- a limit order that is marketable on arrival fills at the live last price; otherwise it rests and fills
  at its limit price when a later bar trades through it (at the bar's open when the bar gaps past it).

The account (balance, positions, resting and recent orders) is one `exchanges.PaperAccount` row per
subscribed bot, written after every change, so a paper run survives restarts. Use it through the same
order layer as live (`trading.orders.placement`): rows are persisted before the paper account sees them.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async

from trading.fills import fee_for, market_fill_price
from trading.gateways import errors as gw
from trading.gateways.base import Balance, Market, OrderBook, OrderRequest, OrderSnapshot, Position, Ticker

ZERO = Decimal(0)
KEEP_CLOSED_ORDERS = 500
_TIMEFRAME_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000,
                 "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000, "12h": 43_200_000,
                 "1d": 86_400_000}


@dataclass(frozen=True)
class PaperFillModel:
    """The simulation's money settings: one fee rate for every fill, slippage in basis points."""

    fee_rate: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal(0)


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _snapshot(row: dict[str, Any]) -> OrderSnapshot:
    amount, filled = _d(row["amount"]), _d(row["filled"])
    average = _d(row["average"]) if row.get("average") else None
    return OrderSnapshot(
        client_order_id=row["client_order_id"], exchange_order_id=row["id"], symbol=row["symbol"], side=row["side"],
        type=row["type"], status=row["status"], amount=amount, filled=filled, remaining=amount - filled,
        price=_d(row["price"]) if row.get("price") else None, average=average,
        cost=filled * (average or ZERO), fee=_d(row.get("fee", "0")), fee_currency="USDT",
        timestamp_ms=row["updated_ms"],
    )


def _limit_fill(row: dict[str, Any], bars: list[list[Decimal]], last: Decimal) -> Decimal | None:
    price, buy = _d(row["price"]), row["side"] == "buy"
    for open_ms, bar_open, high, low, *_ in bars:
        if open_ms <= row["placed_ms"]:
            continue
        if buy and low <= price:
            return min(price, bar_open)
        if not buy and high >= price:
            return max(price, bar_open)
    if (buy and last <= price) or (not buy and last >= price):
        return price
    return None


class PaperGateway:
    """ExchangeGateway over a PaperAccount. Build with `PaperGateway.for_subscribed_bot(...)`."""

    def __init__(self, *, market_data: Any, account: Any, timeframe: str = "1m",
                 fill_model: PaperFillModel | None = None):
        if timeframe not in _TIMEFRAME_MS:
            raise ValueError(f"unknown timeframe {timeframe!r}")
        self.market_data = market_data
        self.exchange_id = market_data.exchange_id
        self.account = account
        self.timeframe = timeframe
        self.fill_model = fill_model or PaperFillModel()
        self._ids = itertools.count(int(time.time() * 1000))

    @classmethod
    async def for_subscribed_bot(cls, *, subscribed_bot_id: int, market_data: Any, timeframe: str = "1m",
                                 starting_balance: Decimal = Decimal(10000),
                                 fill_model: PaperFillModel | None = None) -> PaperGateway:
        """The bot's paper account (created with `starting_balance` the first time)."""
        from exchanges.models import PaperAccount

        account, _ = await sync_to_async(PaperAccount.objects.get_or_create)(
            subscribed_bot_id=subscribed_bot_id,
            defaults={"balance": starting_balance, "starting_balance": starting_balance},
        )
        return cls(market_data=market_data, account=account, timeframe=timeframe, fill_model=fill_model)

    # ------------------------------------------------------------------ market data (delegated)
    async def load_markets(self) -> dict[str, Market]:
        return await self.market_data.load_markets()

    async def fetch_ticker(self, symbol: str) -> Ticker:
        return await self.market_data.fetch_ticker(symbol)

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        return await self.market_data.fetch_order_book(symbol, limit)

    async def fetch_ohlcv(self, symbol: str, timeframe: str, since_ms: int | None = None,
                          limit: int | None = None) -> list[list[float]]:
        return await self.market_data.fetch_ohlcv(symbol, timeframe, since_ms, limit)

    # ------------------------------------------------------------------ account
    def _position(self, symbol: str) -> tuple[Decimal, Decimal, int]:
        row = self.account.positions.get(symbol) or {}
        return _d(row.get("amount", 0)), _d(row.get("entry", 0)), int(row.get("leverage", 1))

    def _margin_used(self) -> Decimal:
        total = ZERO
        for symbol in self.account.positions:
            amount, entry, leverage = self._position(symbol)
            total += abs(amount) * entry / leverage
        for row in self.account.orders.values():
            if row["status"] == "open" and row.get("price"):
                total += _d(row["amount"]) * _d(row["price"]) / self._position(row["symbol"])[2]
        return total

    async def fetch_balance(self) -> dict[str, Balance]:
        await self._match_all()
        total = _d(self.account.balance)
        used = self._margin_used()
        currency = self.account.currency
        return {currency: Balance(currency=currency, total=total, free=total - used, used=used)}

    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        await self._match_all()
        rows = []
        for symbol in list(self.account.positions):
            amount, entry, leverage = self._position(symbol)
            if not amount or (symbols and symbol not in symbols):
                continue
            last = (await self.market_data.fetch_ticker(symbol)).last
            rows.append(Position(symbol=symbol, side="long" if amount > 0 else "short", amount=abs(amount),
                                 entry_price=entry, leverage=leverage, unrealized_pnl=(last - entry) * amount))
        return rows

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        amount, entry, _ = self._position(symbol)
        self.account.positions[symbol] = {"amount": str(amount), "entry": str(entry), "leverage": int(leverage)}
        await self._save()

    # ------------------------------------------------------------------ orders
    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        if request.client_order_id in self.account.orders:
            raise gw.DuplicateClientOrderId("duplicate client order id")
        amount, _, leverage = self._position(request.symbol)
        direction = 1 if request.side == "buy" else -1
        if request.reduce_only and (amount * direction >= 0 or request.amount > abs(amount)):
            raise gw.InvalidOrder("reduce-only", user_message="A reduce-only order would not reduce the position.")
        now = int(time.time() * 1000)
        last = (await self.market_data.fetch_ticker(request.symbol)).last
        reference = request.price if request.type == "limit" and request.price else last
        if not request.reduce_only and amount * direction >= 0:
            required = request.amount * reference / leverage + fee_for(reference, request.amount,
                                                                        self.fill_model.fee_rate)
            balance = await self.fetch_balance()
            if required > balance[self.account.currency].free:
                raise gw.InsufficientFunds("paper margin", user_message="Not enough paper margin for this order.")
        row = {"id": f"paper-{next(self._ids)}", "client_order_id": request.client_order_id, "symbol": request.symbol,
               "side": request.side, "type": request.type, "amount": str(request.amount),
               "price": str(request.price) if request.price is not None else "", "reduce_only": request.reduce_only,
               "status": "open", "filled": "0", "average": "", "fee": "0", "placed_ms": now, "updated_ms": now}
        self.account.orders[request.client_order_id] = row
        if request.type == "market":
            bar = await self._forming_bar(request.symbol)
            open_price = bar[1] if bar else last
            self._fill(row, market_fill_price(open_price, request.side, self.fill_model.slippage_bps))
        elif (request.side == "buy" and last <= request.price) or (request.side == "sell" and last >= request.price):
            self._fill(row, last)
        await self._save()
        return _snapshot(row)

    async def cancel_order(self, symbol: str, *, exchange_order_id: str | None = None,
                           client_order_id: str | None = None) -> OrderSnapshot:
        row = self._find(exchange_order_id, client_order_id)
        await self._match(row["symbol"])
        if row["status"] != "open":
            raise gw.OrderNotFound("not open", user_message="The exchange does not know this order (or it is "
                                                            "already closed).")
        row["status"], row["updated_ms"] = "canceled", int(time.time() * 1000)
        await self._save()
        return _snapshot(row)

    async def fetch_order(self, symbol: str, *, exchange_order_id: str | None = None,
                          client_order_id: str | None = None) -> OrderSnapshot:
        row = self._find(exchange_order_id, client_order_id)
        if row["status"] == "open":
            await self._match(row["symbol"])
        return _snapshot(row)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        await self._match_all()
        return [_snapshot(r) for r in self.account.orders.values()
                if r["status"] == "open" and (symbol is None or r["symbol"] == symbol)]

    async def close(self) -> None:
        return None

    # ------------------------------------------------------------------ matching and booking
    def _find(self, exchange_order_id: str | None, client_order_id: str | None) -> dict[str, Any]:
        row = self.account.orders.get(client_order_id or "")
        if row is None and exchange_order_id:
            row = next((r for r in self.account.orders.values() if r["id"] == exchange_order_id), None)
        if row is None:
            raise gw.OrderNotFound("unknown paper order")
        return row

    async def _forming_bar(self, symbol: str) -> list[Decimal] | None:
        rows = await self.market_data.fetch_ohlcv(symbol, self.timeframe, None, 1)
        return [_d(v) for v in rows[-1]] if rows else None

    async def _match_all(self) -> None:
        for symbol in {r["symbol"] for r in self.account.orders.values() if r["status"] == "open"}:
            await self._match(symbol)

    async def _match(self, symbol: str) -> None:
        """Resting limit orders against the bars that opened after them, then the live last price.

        A bar that trades through the limit fills it at the limit price (at the bar's open if the bar
        opened beyond it: a gap); the live price reaching the limit fills it at the limit price.
        """
        resting = [r for r in self.account.orders.values() if r["status"] == "open" and r["symbol"] == symbol]
        if not resting:
            return
        since = min(r["placed_ms"] for r in resting) + 1
        bars = [[_d(v) for v in bar] for bar in await self.market_data.fetch_ohlcv(symbol, self.timeframe, since, 500)]
        last = (await self.market_data.fetch_ticker(symbol)).last
        for row in resting:
            fill = _limit_fill(row, bars, last)
            if fill is not None:
                self._fill(row, fill)
        if any(r["status"] != "open" for r in resting):
            await self._save()

    def _fill(self, row: dict[str, Any], price: Decimal) -> None:
        amount = _d(row["amount"])
        fee = fee_for(price, amount, self.fill_model.fee_rate)
        row.update(status="closed", filled=str(amount), average=str(price), fee=str(fee),
                   updated_ms=int(time.time() * 1000))
        held, entry, leverage = self._position(row["symbol"])
        signed = amount if row["side"] == "buy" else -amount
        realized = ZERO
        if held == 0 or (held > 0) == (signed > 0):
            entry = (abs(held) * entry + amount * price) / (abs(held) + amount)
            held += signed
        else:
            closing = min(amount, abs(held))
            realized = closing * (price - entry) * (1 if held > 0 else -1)
            held += signed
            if held == 0:
                entry = ZERO
            elif (held > 0) == (signed > 0):  # flipped: the rest opens at the fill price
                entry = price
        self.account.positions[row["symbol"]] = {"amount": str(held), "entry": str(entry), "leverage": leverage}
        self.account.balance = _d(self.account.balance) + realized - fee

    async def _save(self) -> None:
        closed = [cid for cid, r in self.account.orders.items() if r["status"] != "open"]
        for cid in closed[:-KEEP_CLOSED_ORDERS] if len(closed) > KEEP_CLOSED_ORDERS else []:
            del self.account.orders[cid]
        await sync_to_async(self.account.save)(update_fields=["balance", "positions", "orders", "updated_at"])
