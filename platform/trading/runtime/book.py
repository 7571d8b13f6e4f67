"""A running bot's account, kept exactly as the simulator keeps it (trading.engine._Book), in Decimal.

Wallet `balance` (starting equity + closed P&L − fees), one signed position (`units`, average `entry`),
the strategy `target` it was set to, and its stop-loss / take-profit levels. The runtime plans orders
with the same formulas as the simulator (trading.fills) and books each real fill here, so a dry-run bot
fed the candles of a simulation makes the same trades, and a live bot's figures come from its own fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal
from typing import Any

from trading.fills import entry_amount, liquidation_price, market_fill_price, stop_levels

ZERO = Decimal(0)
AMOUNT_QUANTUM = Decimal("0.0000000001")  # the Order/Trade columns keep 10 decimal places


def D(value: Any) -> Decimal:  # noqa: N802 - conversion helper
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass
class TradeSums:
    """Running sums of the open trade (the simulator's TradeRecord private fields)."""

    balance_before: Decimal = ZERO
    entry_cost: Decimal = ZERO
    amount: Decimal = ZERO
    exit_value: Decimal = ZERO
    exit_amount: Decimal = ZERO
    fees: Decimal = ZERO
    max_amount: Decimal = ZERO

    def as_json(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> TradeSums | None:
        if not data:
            return None
        return cls(**{name: D(data[name]) for name in cls.__dataclass_fields__ if name in data})

    @property
    def entry_price(self) -> Decimal:
        return self.entry_cost / self.amount if self.amount else ZERO

    @property
    def exit_price(self) -> Decimal | None:
        return self.exit_value / self.exit_amount if self.exit_amount else None


@dataclass(frozen=True)
class FillResult:
    """One booked fill: what the order did to the bot's account."""

    purpose: str  # entry | increase | reduce | exit | stop_loss | take_profit | liquidation | protection
    side: str  # buy | sell
    amount: Decimal
    price: Decimal
    fee: Decimal
    closed_trade: bool = False
    trade_pnl: Decimal = ZERO  # of the closed trade
    sums: TradeSums | None = None  # the trade's running sums right after this fill
    stop_loss: Decimal | None = None  # the position's levels right after this fill
    take_profit: Decimal | None = None


@dataclass
class Book:
    balance: Decimal
    units: Decimal = ZERO  # signed: > 0 long, < 0 short
    entry: Decimal = ZERO
    target: float = 0.0
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    leverage: int = 1
    fee_rate: Decimal = Decimal("0.001")
    slippage_bps: Decimal = ZERO
    stop_loss_pct: Decimal = ZERO
    take_profit_pct: Decimal = ZERO
    trade: TradeSums | None = None
    fills: list[FillResult] = field(default_factory=list)

    # -- views ---------------------------------------------------------------------------------------
    @property
    def side(self) -> str:
        return "long" if self.units > 0 else "short" if self.units < 0 else ""

    @property
    def liquidation(self) -> Decimal | None:
        if not self.units:
            return None
        return liquidation_price(self.entry, self.side, self.leverage)

    def equity(self, mark: Decimal) -> Decimal:
        return self.balance + self.units * (mark - self.entry)

    # -- planning (amounts the simulator would trade) ---------------------------------------------------
    def fill_price(self, reference: Decimal, side: str) -> Decimal:
        return market_fill_price(reference, side, self.slippage_bps)

    def entry_amount_for(self, fraction: float, price: Decimal, *, equity: Decimal | None = None) -> Decimal:
        base = self.balance if equity is None else equity
        amount = entry_amount(base, D(fraction), price, self.fee_rate, self.leverage)
        return amount.quantize(AMOUNT_QUANTUM, rounding=ROUND_DOWN) if amount > 0 else ZERO

    def resize_delta(self, fraction: float, reference: Decimal) -> tuple[str, Decimal]:
        """("buy"|"sell", amount) that takes the position to `fraction` of equity (as the simulator's resize)."""
        long = self.units > 0
        equity = self.equity(reference)
        desired = entry_amount(equity, D(fraction), reference, self.fee_rate, self.leverage)
        delta = desired - abs(self.units)
        if delta > 0:
            price = self.fill_price(reference, "buy" if long else "sell")
            delta = entry_amount(equity, D(fraction), price, self.fee_rate, self.leverage) - abs(self.units)
            if delta <= 0:
                return "", ZERO
            return ("buy" if long else "sell"), delta.quantize(AMOUNT_QUANTUM, rounding=ROUND_DOWN)
        if delta < 0:
            reduce = min(-delta, abs(self.units))
            return ("sell" if long else "buy"), reduce.quantize(AMOUNT_QUANTUM, rounding=ROUND_DOWN)
        return "", ZERO

    # -- booking fills ---------------------------------------------------------------------------------
    def _set_levels(self, stop_loss: Decimal | None, take_profit: Decimal | None) -> None:
        pct_sl, pct_tp = stop_levels(self.entry, self.side, self.stop_loss_pct, self.take_profit_pct)
        self.stop_loss = stop_loss if stop_loss is not None else pct_sl
        self.take_profit = take_profit if take_profit is not None else pct_tp

    def book_entry(
        self, *, long: bool, amount: Decimal, price: Decimal, fee: Decimal, target: float,
        stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
    ) -> FillResult:
        self.trade = TradeSums(balance_before=self.balance, entry_cost=price * amount, amount=amount,
                               fees=fee, max_amount=amount)
        self.balance -= fee
        self.units = amount if long else -amount
        self.entry = price
        self.target = target
        self._set_levels(stop_loss, take_profit)
        return self._record("entry", "buy" if long else "sell", amount, price, fee)

    def book_increase(self, *, amount: Decimal, price: Decimal, fee: Decimal, target: float,
                      stop_loss: Decimal | None = None, take_profit: Decimal | None = None) -> FillResult:
        long = self.units > 0
        size = abs(self.units)
        self.balance -= fee
        self.entry = (self.entry * size + price * amount) / (size + amount)
        self.units += amount if long else -amount
        assert self.trade is not None
        self.trade.entry_cost += price * amount
        self.trade.amount += amount
        self.trade.fees += fee
        self.trade.max_amount = max(self.trade.max_amount, abs(self.units))
        self.target = target
        self._set_levels(stop_loss, take_profit)
        return self._record("increase", "buy" if long else "sell", amount, price, fee)

    def book_reduce(self, *, amount: Decimal, price: Decimal, fee: Decimal, target: float,
                    stop_loss: Decimal | None = None, take_profit: Decimal | None = None) -> FillResult:
        long = self.units > 0
        amount = min(amount, abs(self.units))
        signed = amount if long else -amount
        self.balance += signed * (price - self.entry) - fee
        self.units -= signed
        assert self.trade is not None
        self.trade.exit_value += price * amount
        self.trade.exit_amount += amount
        self.trade.fees += fee
        self.target = target
        if not self.units:
            return self._finish("reduce", "sell" if long else "buy", amount, price, fee)
        self._set_levels(stop_loss, take_profit)
        return self._record("reduce", "sell" if long else "buy", amount, price, fee)

    def book_close(self, *, price: Decimal, fee: Decimal, purpose: str, amount: Decimal | None = None) -> FillResult:
        """Close the whole position at `price` (purpose: exit, stop_loss, take_profit, liquidation, protection)."""
        amount = abs(self.units) if amount is None else amount
        side = "sell" if self.units > 0 else "buy"
        if purpose == "liquidation":
            # Isolated margin: the loss is the margin; the fee comes out of what is left, never below zero.
            loss = amount * self.entry / self.leverage
            fee = min(fee, max(self.balance - loss, ZERO))
            self.balance = max(self.balance - loss - fee, ZERO)
        else:
            self.balance += self.units * (price - self.entry) - fee
        assert self.trade is not None
        self.trade.exit_value += price * amount
        self.trade.exit_amount += amount
        self.trade.fees += fee
        return self._finish(purpose, side, amount, price, fee)

    def _finish(self, purpose: str, side: str, amount: Decimal, price: Decimal, fee: Decimal) -> FillResult:
        assert self.trade is not None
        pnl = self.balance - self.trade.balance_before
        self.units = self.entry = ZERO
        self.target = 0.0
        self.stop_loss = self.take_profit = None
        result = FillResult(purpose, side, amount, price, fee, closed_trade=True, trade_pnl=pnl,
                            sums=replace(self.trade))
        self.fills.append(result)
        return result

    def _record(self, purpose: str, side: str, amount: Decimal, price: Decimal, fee: Decimal) -> FillResult:
        result = FillResult(purpose, side, amount, price, fee, sums=replace(self.trade) if self.trade else None,
                            stop_loss=self.stop_loss, take_profit=self.take_profit)
        self.fills.append(result)
        return result
