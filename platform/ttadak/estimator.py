""""At my fee level, does this earn?" — what Ttadak games would have made over past candles.

A game is started every `every_minutes` at a bar's open (the entry reference and entry fill; taker
fee), its exit limit and stop are placed as in a real game (ttadak.gamemath), and the bars after it
decide how it ended:

- target: a bar trades through the exit price → filled at the exit price (maker fee);
- stop loss: a bar trades through the stop → filled at the stop, or at the bar's open when the price
  gapped past it (taker fee);
- time limit: neither within `max_duration_s` → closed at the close of the last bar (taker fee).

Resolution is the candle: when one bar reaches both the exit and the stop the stop is assumed first
(the pessimistic reading), and a game shorter than a bar lasts one bar. Gross results do not depend on
fees, so the same pass also answers for every other fee level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from marketdata.series import Candles
from ttadak.params import FEE_LEVELS, fee_rates

REASONS = ("target", "stop_loss", "timeout")


@dataclass(frozen=True)
class FeeLevelSummary:
    fee_level: str
    win_rate_pct: Decimal
    avg_pnl: Decimal
    total_pnl: Decimal


@dataclass(frozen=True)
class Estimate:
    games: int
    wins: int
    win_rate_pct: Decimal
    avg_pnl: Decimal  # per game, after fees, quote currency
    avg_yield_pct: Decimal  # per game, % of margin
    worst_pnl: Decimal
    best_pnl: Decimal
    total_pnl: Decimal
    total_fees: Decimal
    reasons: dict[str, int]
    by_fee_level: list[FeeLevelSummary] = field(default_factory=list)
    first_ms: int | None = None
    last_ms: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.__dict__.items()
                if k != "by_fee_level"}
        data["by_fee_level"] = [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.__dict__.items()}
                                for row in self.by_fee_level]
        return data


def _money(value: float) -> Decimal:
    return Decimal(str(round(float(value), 8)))


def _pct(value: float) -> Decimal:
    return Decimal(str(round(float(value), 4)))


@dataclass(frozen=True)
class _Pass:
    """Per-game arrays of one pass: notionals of both legs, gross P&L, how it ended."""

    starts: np.ndarray
    entry_notional: np.ndarray
    exit_notional: np.ndarray
    gross: np.ndarray
    margin: np.ndarray
    reason: np.ndarray  # 0 target, 1 stop loss, 2 timeout


def _first_true(mask: np.ndarray) -> np.ndarray:
    """Column index of the first True per row, or the row length when none."""
    any_true = mask.any(axis=1)
    first = mask.argmax(axis=1)
    return np.where(any_true, first, mask.shape[1])


def _play(candles: Candles, *, side: str, every_bars: int, duration_bars: int, amount: float, leverage: int,
          target_pct: float, stop_pct: float) -> _Pass:
    n = len(candles)
    starts = np.arange(0, max(0, n - duration_bars + 1), max(1, every_bars))
    if len(starts) == 0:
        empty = np.array([], dtype=float)
        return _Pass(starts, empty, empty, empty, empty, np.array([], dtype=int))
    window = starts[:, None] + np.arange(duration_bars)[None, :]
    high, low, open_ = candles.high[window], candles.low[window], candles.open[window]
    entry = candles.open[starts]
    target_move, stop_move = target_pct / 100 / leverage, stop_pct / 100 / leverage
    if side == "long":
        exit_ = entry * (1 + target_move)
        stop = entry * (1 - stop_move)
        target_bar = _first_true(high >= exit_[:, None])
        stop_bar = _first_true(low <= stop[:, None])
    else:
        exit_ = entry * (1 - target_move)
        stop = entry * (1 + stop_move)
        target_bar = _first_true(low <= exit_[:, None])
        stop_bar = _first_true(high >= stop[:, None])
    rows = np.arange(len(starts))
    stopped = (stop_bar < duration_bars) & (stop_bar <= target_bar)  # same bar: the stop is assumed first
    targeted = (target_bar < duration_bars) & ~stopped
    stop_open = open_[rows, np.minimum(stop_bar, duration_bars - 1)]
    # A gap past the stop fills at the bar's open (the first bar opens at the entry, never past it).
    stop_fill = np.minimum(stop, stop_open) if side == "long" else np.maximum(stop, stop_open)
    timeout_fill = candles.close[starts + duration_bars - 1]
    close = np.where(stopped, stop_fill, np.where(targeted, exit_, timeout_fill))
    direction = 1.0 if side == "long" else -1.0
    gross = (close - entry) * amount * direction
    reason = np.where(stopped, 1, np.where(targeted, 0, 2))
    return _Pass(starts, entry * amount, close * amount, gross, entry * amount / leverage, reason)


def _fees(played: _Pass, maker: float, taker: float) -> np.ndarray:
    exit_rate = np.where(played.reason == 0, maker, taker)
    return played.entry_notional * taker + played.exit_notional * exit_rate


def estimate_games(candles: Candles, settings: dict[str, Any], *, side: str = "long",
                   every_minutes: int = 5) -> Estimate:
    """Play a game every `every_minutes` over `candles` with the (validated) Ttadak settings."""
    if side not in ("long", "short"):
        raise ValueError("side must be long or short")
    bar_seconds = candles.timeframe_ms / 1000
    duration_bars = max(1, math.ceil(float(settings["max_duration_s"]) / bar_seconds))
    every_bars = max(1, math.ceil(every_minutes * 60 / bar_seconds))
    played = _play(
        candles, side=side, every_bars=every_bars, duration_bars=duration_bars,
        amount=float(settings["order_amount"]), leverage=int(settings["leverage"]),
        target_pct=float(settings["target_yield_pct"]), stop_pct=float(settings["stop_loss_pct"]),
    )
    maker, taker = (float(rate) for rate in fee_rates(settings))
    fees = _fees(played, maker, taker)
    pnl = played.gross - fees
    games = len(pnl)
    if games == 0:
        zero = Decimal(0)
        return Estimate(0, 0, zero, zero, zero, zero, zero, zero, zero, dict.fromkeys(REASONS, 0))
    by_level = []
    for level, (level_maker, level_taker) in FEE_LEVELS.items():
        level_pnl = played.gross - _fees(played, float(level_maker), float(level_taker))
        by_level.append(FeeLevelSummary(level, _pct((level_pnl > 0).mean() * 100), _money(level_pnl.mean()),
                                        _money(level_pnl.sum())))
    wins = int((pnl > 0).sum())
    return Estimate(
        games=games,
        wins=wins,
        win_rate_pct=_pct(wins / games * 100),
        avg_pnl=_money(pnl.mean()),
        avg_yield_pct=_pct((pnl / played.margin).mean() * 100),
        worst_pnl=_money(pnl.min()),
        best_pnl=_money(pnl.max()),
        total_pnl=_money(pnl.sum()),
        total_fees=_money(fees.sum()),
        reasons={name: int((played.reason == index).sum()) for index, name in enumerate(REASONS)},
        by_fee_level=by_level,
        first_ms=int(candles.ts[played.starts[0]]),
        last_ms=int(candles.ts[played.starts[-1]]),
    )
