"""The vectorised simulator core: candles + signals in, fills, trades and an equity curve out.

Indicators and decisions are numpy arrays (Strategy.signals); this module loops only over decisions
that change the position, and finds stop-loss / take-profit / liquidation touches between them with
numpy searches — never a Python loop over every candle. Prices follow trading.fills exactly (the same
rules the paper gateway uses); see docs/simulation.md.

Floats here, for speed; results are rounded to Decimal when stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import ValidationError
from marketdata.series import Candles
from trading.fills import bar_exit, entry_amount, liquidation_price, market_fill_price, stop_levels
from trading.strategies.base import Signals


@dataclass(frozen=True)
class EngineConfig:
    balance: float = 10_000.0
    fee_rate: float = 0.001  # per side, taker
    slippage_bps: float = 0.0
    leverage: int = 1
    stop_loss_pct: float = 0.0  # percent of the entry price; 0 = off
    take_profit_pct: float = 0.0
    start_index: int = 0  # first bar of the simulated range; earlier bars only warm indicators up

    def check(self) -> None:
        if not self.balance > 0:
            raise ValidationError("balance must be positive", field="balance")
        if not 0 <= self.fee_rate < 0.1:
            raise ValidationError("fee must be between 0 and 0.1 (10%)", field="fee_rate")
        if not 0 <= self.slippage_bps < 1000:
            raise ValidationError("slippage must be between 0 and 1000 basis points", field="slippage_bps")
        if not 1 <= self.leverage <= 125:
            raise ValidationError("leverage must be between 1 and 125", field="leverage")


@dataclass(slots=True)
class Fill:
    bar: int
    side: str  # buy | sell
    amount: float
    price: float
    fee: float
    purpose: str  # entry | increase | reduce | exit | stop_loss | take_profit | liquidation | end_of_range
    trade: int  # index into EngineResult.trades


@dataclass(slots=True)
class TradeRecord:
    side: str  # long | short
    entry_bar: int
    entry_price: float = 0.0  # average over entry fills
    amount: float = 0.0  # base units bought (long) / sold (short) in total
    exit_bar: int | None = None
    exit_price: float | None = None  # average over exit fills
    exit_amount: float = 0.0
    fees: float = 0.0
    pnl: float = 0.0  # after fees
    exit_reason: str = ""
    stop_loss: float | None = None
    take_profit: float | None = None
    max_amount: float = 0.0
    entry_cost: float = field(default=0.0, repr=False)
    exit_value: float = field(default=0.0, repr=False)
    balance_before: float = field(default=0.0, repr=False)


class EngineResult:
    """Equity and position at every close, trade P&Ls and fees as arrays; trade and fill objects are built
    on first use (the fast path never makes a million-bar run pay for Python objects it may not need)."""

    def __init__(
        self, *, candles: Candles, equity: np.ndarray, position: np.ndarray, start_balance: float, offset: int,
        trade_pnls: np.ndarray, fees_paid: float,
        build: Callable[[], tuple[list[TradeRecord], list[tuple]]],
    ):
        self.candles = candles  # the simulated range (warm-up bars cut off)
        self.equity = equity  # at each bar's close
        self.position = position  # signed base units held at each bar's close
        self.start_balance = start_balance
        self.offset = offset  # index of candles[0] in the input series (fills' bars are input indexes)
        self.trade_pnls = trade_pnls
        self.fees_paid = fees_paid
        self._build = build
        self._built: tuple[list[TradeRecord], list[tuple]] | None = None

    def _materialise(self) -> tuple[list[TradeRecord], list[tuple]]:
        if self._built is None:
            self._built = self._build()
        return self._built

    @property
    def trades(self) -> list[TradeRecord]:
        return self._materialise()[0]

    @property
    def fill_rows(self) -> list[tuple]:
        """(bar, side, amount, price, fee, purpose, trade index) per fill."""
        return self._materialise()[1]

    @property
    def fills(self) -> list[Fill]:
        return [Fill(*row) for row in self.fill_rows]

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1]) if len(self.equity) else self.start_balance


class _Book:
    """The account while the engine walks the events: wallet balance plus one (possibly resized) position."""

    def __init__(self, candles: Candles, config: EngineConfig):
        self.o, self.h, self.l, self.c = candles.open, candles.high, candles.low, candles.close
        self.cfg = config
        self.fee = config.fee_rate
        self.slip = config.slippage_bps
        self.lev = config.leverage
        self.balance = config.balance
        self.units = 0.0  # signed
        self.entry = 0.0
        self.target = 0.0
        self.sl: float | None = None
        self.tp: float | None = None
        self.liq: float | None = None
        self.fills: list[tuple] = []
        self.plain = not (config.stop_loss_pct or config.take_profit_pct)
        self.trades: list[TradeRecord] = []
        self.seg_start: list[int] = [0]
        self.seg_balance: list[float] = [config.balance]
        self.seg_units: list[float] = [0.0]
        self.seg_entry: list[float] = [0.0]

    # -- bookkeeping --------------------------------------------------------------------------------
    def _segment(self, bar: int) -> None:
        self.seg_start.append(bar)
        self.seg_balance.append(self.balance)
        self.seg_units.append(self.units)
        self.seg_entry.append(self.entry)

    def _fill(self, bar: int, side: str, amount: float, price: float, purpose: str) -> float:
        fee = price * amount * self.fee
        self.trades[-1].fees += fee
        self.fills.append((bar, side, amount, price, fee, purpose, len(self.trades) - 1))
        return fee

    def _set_levels(self, sl: float | None, tp: float | None) -> None:
        if self.plain and sl is None and tp is None and self.units > 0 and self.lev == 1:
            return  # the common case (no stops, unleveraged long): nothing to watch
        side = "long" if self.units > 0 else "short"
        pct_sl, pct_tp = stop_levels(self.entry, side, self.cfg.stop_loss_pct, self.cfg.take_profit_pct)
        self.sl = sl if sl is not None else pct_sl
        self.tp = tp if tp is not None else pct_tp
        self.liq = liquidation_price(self.entry, side, self.lev)
        trade = self.trades[-1]
        trade.stop_loss, trade.take_profit = self.sl, self.tp

    @property
    def watches(self) -> bool:
        return self.units != 0 and (self.sl is not None or self.tp is not None or self.liq is not None)

    # -- transitions ----------------------------------------------------------------------------------
    def open(self, bar: int, bar_open: float, fraction: float, long: bool, sl: float | None, tp: float | None) -> None:
        price = market_fill_price(bar_open, "buy" if long else "sell", self.slip)
        amount = entry_amount(self.balance, fraction, price, self.fee, self.lev)
        if not amount > 0:
            return
        self.trades.append(TradeRecord("long" if long else "short", bar, balance_before=self.balance))
        trade = self.trades[-1]
        self.balance -= self._fill(bar, "buy" if long else "sell", amount, price, "entry")
        self.units = amount if long else -amount
        self.entry = price
        trade.entry_cost, trade.amount, trade.max_amount = price * amount, amount, amount
        self._set_levels(sl, tp)
        self._segment(bar)

    def close(self, bar: int, price: float, purpose: str) -> None:
        amount = abs(self.units)
        trade = self.trades[-1]
        side = "sell" if self.units > 0 else "buy"
        if purpose == "liquidation":
            # Isolated margin: the loss is the margin; the fee comes out of what is left, never below zero.
            loss = amount * self.entry / self.lev
            fee = min(price * amount * self.fee, max(self.balance - loss, 0.0))
            self.fills.append((bar, side, amount, price, fee, purpose, len(self.trades) - 1))
            trade.fees += fee
            self.balance = max(self.balance - loss - fee, 0.0)
        else:
            pnl = self.units * (price - self.entry)
            self.balance += pnl - self._fill(bar, side, amount, price, purpose)
        trade.exit_value += price * amount
        trade.exit_amount += amount
        trade.exit_bar, trade.exit_price = bar, trade.exit_value / trade.exit_amount
        trade.entry_price = trade.entry_cost / trade.amount
        trade.exit_reason = purpose
        trade.pnl = self.balance - trade.balance_before
        self.units = self.entry = self.target = 0.0
        self.sl = self.tp = self.liq = None
        self._segment(bar)

    def resize(self, bar: int, mark: float, fraction: float, sl: float | None, tp: float | None) -> None:
        long = self.units > 0
        equity = self.balance + self.units * (mark - self.entry)
        desired = entry_amount(equity, fraction, mark, self.fee, self.lev)
        delta = desired - abs(self.units)
        if delta == 0:
            return
        trade = self.trades[-1]
        if delta > 0:
            price = market_fill_price(mark, "buy" if long else "sell", self.slip)
            delta = entry_amount(equity, fraction, price, self.fee, self.lev) - abs(self.units)
            if delta <= 0:
                return
            self.balance -= self._fill(bar, "buy" if long else "sell", delta, price, "increase")
            size = abs(self.units)
            self.entry = (self.entry * size + price * delta) / (size + delta)
            self.units += delta if long else -delta
            trade.entry_cost += price * delta
            trade.amount += delta
            trade.max_amount = max(trade.max_amount, abs(self.units))
        else:
            price = market_fill_price(mark, "sell" if long else "buy", self.slip)
            reduce = min(-delta, abs(self.units))
            signed = reduce if long else -reduce
            self.balance += signed * (price - self.entry) - self._fill(
                bar, "sell" if long else "buy", reduce, price, "reduce")
            self.units -= signed
            trade.exit_value += price * reduce
            trade.exit_amount += reduce
        self._set_levels(sl, tp)
        self._segment(bar)

    def first_exit(self, first: int, last: int) -> tuple[int, float, str] | None:
        """The first bar in [first, last] where the position's stops or liquidation fill, vectorised."""
        if first > last:
            return None
        long = self.units > 0
        lows, highs = self.l[first : last + 1], self.h[first : last + 1]
        adverse = [level for level in (self.sl, self.liq) if level is not None]
        mask = np.zeros(len(lows), dtype=bool)
        if adverse:
            mask |= (lows <= max(adverse)) if long else (highs >= min(adverse))
        if self.tp is not None:
            mask |= (highs >= self.tp) if long else (lows <= self.tp)
        if not mask.any():
            return None
        bar = first + int(np.argmax(mask))
        hit = bar_exit("long" if long else "short", float(self.o[bar]), float(self.h[bar]), float(self.l[bar]),
                       stop_loss=self.sl, take_profit=self.tp, liquidation=self.liq)
        assert hit is not None  # the mask said this bar touches a level
        return bar, float(hit[0]), hit[1]


def simulate_signals(candles: Candles, signals: Signals, config: EngineConfig) -> EngineResult:
    """Run decisions over candles. Decision on bar i's close -> market fill at bar i+1's open."""
    config.check()
    n = len(candles)
    start = config.start_index
    if n == 0 or start >= n:
        raise ValidationError("there are no candles in the requested range", field="start")
    target = signals.target
    events = np.flatnonzero(~np.isnan(target[: n - 1]))
    events = events[events >= start]
    size = _plain_size(signals, config, target[events])
    if size is not None:
        return _simulate_plain(candles, events, target[events], size, config)
    return _simulate_book(candles, signals, config, events)


def _simulate_book(candles: Candles, signals: Signals, config: EngineConfig, events: np.ndarray) -> EngineResult:
    """The general path: one step per decision that changes the position, numpy searches in between."""
    n, start, target = len(candles), config.start_index, signals.target
    book = _Book(candles, config)
    sl_col, tp_col = signals.stop_loss, signals.take_profit
    check_from = 0
    opens = candles.open[events + 1].tolist()
    for i, t, bar_open in zip(events.tolist(), target[events].tolist(), opens, strict=True):
        if book.watches:
            hit = book.first_exit(check_from, i)
            if hit is not None:
                book.close(*hit)
            else:
                check_from = i + 1
        if t == book.target:
            continue
        bar = i + 1
        sl = None if sl_col is None or math.isnan(sl_col[i]) else float(sl_col[i])
        tp = None if tp_col is None or math.isnan(tp_col[i]) else float(tp_col[i])
        if book.units != 0 and (t == 0 or (t > 0) != (book.units > 0)):
            book.close(bar, market_fill_price(bar_open, "sell" if book.units > 0 else "buy", book.slip), "exit")
        if t != 0:
            if book.units == 0:
                book.open(bar, bar_open, abs(t), t > 0, sl, tp)
            else:
                book.resize(bar, bar_open, abs(t), sl, tp)
            book.target = t if book.units != 0 else 0.0
        check_from = bar
    if book.watches:
        hit = book.first_exit(check_from, n - 1)
        if hit is not None:
            book.close(*hit)
    if book.units != 0:
        book.close(n - 1, float(book.c[n - 1]), "end_of_range")

    equity, position = _curves(candles.close, book.seg_start, book.seg_balance, book.seg_units, book.seg_entry)
    trades, fills = book.trades, book.fills
    return EngineResult(
        candles=candles.slice(start), equity=equity[start:], position=position[start:],
        start_balance=config.balance, offset=start, trade_pnls=np.array([t.pnl for t in trades]),
        fees_paid=float(sum(row[4] for row in fills)), build=lambda: (trades, fills),
    )


def _curves(close: np.ndarray, starts: Any, balances: Any, units: Any, entries: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mark-to-market equity and position at every close, from the segments between state changes."""
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.diff(np.append(starts, len(close)))  # a later change in the same bar wins (length 0 for the earlier)
    balance = np.repeat(np.asarray(balances, dtype=float), lengths)
    held = np.repeat(np.asarray(units, dtype=float), lengths)
    entry = np.repeat(np.asarray(entries, dtype=float), lengths)
    return balance + held * (close - entry), held


def _plain_size(signals: Signals, config: EngineConfig, decided: np.ndarray) -> float | None:
    """The one entry size when the run needs no bookkeeping per bar: unleveraged, long only, one size, no
    stops. None when the general path is needed."""
    if config.leverage != 1 or config.stop_loss_pct or config.take_profit_pct:
        return None
    for column in (signals.stop_loss, signals.take_profit):
        if column is not None and not np.isnan(column).all():
            return None
    sizes = np.unique(decided[decided != 0])
    if len(sizes) > 1 or (len(sizes) == 1 and not sizes[0] > 0):
        return None
    return float(sizes[0]) if len(sizes) else 0.0


def _simulate_plain(candles: Candles, events: np.ndarray, decided: np.ndarray, size: float,
                    config: EngineConfig) -> EngineResult:
    """The fast path, fully vectorised; the same fill model and arithmetic as _Book (tests compare them).

    With one long size and no stops, the position only changes on decisions: the effective ones alternate
    enter (size) / exit (0), and each round trip multiplies equity by a factor that depends on its two prices.
    """
    o, c, n = candles.open, candles.close, len(candles)
    fee, slip, balance0 = config.fee_rate, config.slippage_bps, config.balance
    changed = decided != np.concatenate(([0.0], decided[:-1]))
    effective = events[changed]
    entry_bar = effective[0::2] + 1
    exit_bar = effective[1::2] + 1
    count = len(entry_bar)
    p = o[entry_bar] * (10_000 + slip) / 10_000
    q = o[exit_bar] * (10_000 - slip) / 10_000
    at_end = len(exit_bar) < count
    if at_end:  # still open after the last bar: closed at its close, no slippage
        exit_bar, q = np.append(exit_bar, n - 1), np.append(q, c[n - 1])
    unit = size / (p / 1 + p * fee)  # entry_amount for 1 unit of equity
    growth = 1 - p * unit * fee + unit * (q - p) - q * unit * fee
    after = balance0 * np.cumprod(growth)
    before = np.concatenate(([balance0], after[:-1]))[:count]
    units = before * size / (p / 1 + p * fee)
    fee_in, fee_out = p * units * fee, q * units * fee
    starts = np.empty(2 * count + 1, dtype=np.int64)
    balances, held, entries = np.empty(2 * count + 1), np.zeros(2 * count + 1), np.zeros(2 * count + 1)
    starts[0], balances[0] = 0, balance0
    starts[1::2], starts[2::2] = entry_bar, exit_bar
    balances[1::2], balances[2::2] = before - fee_in, after
    held[1::2], entries[1::2] = units, p
    equity, position = _curves(c, starts, balances, held, entries)
    start = config.start_index

    def build() -> tuple[list[TradeRecord], list[tuple]]:
        trades, fills = [], []
        last = count - 1
        for k, (eb, xb, pk, qk, uk, fi, fo, b0, b1) in enumerate(zip(
                entry_bar.tolist(), exit_bar.tolist(), p.tolist(), q.tolist(), units.tolist(), fee_in.tolist(),
                fee_out.tolist(), before.tolist(), after.tolist(), strict=True)):
            reason = "end_of_range" if at_end and k == last else "exit"
            trades.append(TradeRecord("long", eb, pk, uk, xb, qk, uk, fi + fo, b1 - b0, reason, max_amount=uk,
                                      entry_cost=pk * uk, exit_value=qk * uk, balance_before=b0))
            fills.append((eb, "buy", uk, pk, fi, "entry", k))
            fills.append((xb, "sell", uk, qk, fo, reason, k))
        return trades, fills

    return EngineResult(
        candles=candles.slice(start), equity=equity[start:], position=position[start:], start_balance=balance0,
        offset=start, trade_pnls=after - before, fees_paid=float(fee_in.sum() + fee_out.sum()), build=build,
    )
