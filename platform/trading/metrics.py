"""Performance metrics of a simulated (or paper/live) equity curve and its trades.

Definitions (docs/simulation.md):
- total_return: final equity / starting balance - 1.
- annualised_return: (1 + total_return) ** (1 year / range length) - 1, with 365.25-day years (crypto
  trades every day); the range runs from the first bar's open to the last bar's close.
- max_drawdown: the largest fall from a running peak of equity (marked to market at each close,
  the starting balance counting as the first peak), as a positive fraction.
- sharpe: mean / standard deviation of per-bar equity returns × sqrt(bars per year); risk-free rate 0;
  0 when equity never moves.
- win_rate: share of closed trades with pnl > 0 (null without trades).
- profit_factor: gross profit / gross loss of closed trades (null when there was no losing trade).
- trades: number of closed trades (a position still open at the end counts: it is closed at the last close).
- fees_paid: sum of fees of every fill.
- exposure_time: share of bars that ended with an open position.
Ratios are fractions (0.05 = 5%); each also comes as `<name>_pct` in percent. Money is a Decimal string.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from marketdata.timeframes import YEAR_MS

MONEY_PLACES = Decimal("0.00000001")


def money(value: float) -> Decimal:
    """A float result as money: Decimal, 8 places."""
    return Decimal(repr(float(value))).quantize(MONEY_PLACES)


def compute_metrics(
    *, equity: np.ndarray, start_balance: float, position: np.ndarray, trade_pnls: Sequence[float],
    fees_paid: float, bar_ms: int, range_ms: int,
) -> dict[str, Any]:
    """Metrics as a JSON-safe dict: ratios as floats, money as Decimal strings (8 places)."""
    final = float(equity[-1]) if len(equity) else start_balance
    total_return = final / start_balance - 1.0
    years = range_ms / YEAR_MS if range_ms > 0 else 0.0
    if years > 0 and final > 0:
        annualised = math.exp(math.log1p(total_return) / years) - 1.0 if total_return > -1 else -1.0
    else:
        annualised = -1.0 if final <= 0 else 0.0
    curve = np.concatenate(([start_balance], np.asarray(equity, dtype=float)))
    peaks = np.maximum.accumulate(curve)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdowns = np.where(peaks > 0, 1.0 - curve / peaks, 0.0)
        returns = np.diff(curve) / curve[:-1]
    returns = returns[np.isfinite(returns)]
    max_drawdown = float(drawdowns.max()) if len(drawdowns) else 0.0
    std = float(returns.std(ddof=1)) if len(returns) > 1 else 0.0
    sharpe = float(returns.mean() / std * math.sqrt(YEAR_MS / bar_ms)) if std > 0 else 0.0
    pnls = np.asarray(trade_pnls, dtype=float)
    wins, losses = pnls[pnls > 0], pnls[pnls < 0]
    gross_loss = float(-losses.sum())
    metrics: dict[str, Any] = {
        "total_return": total_return,
        "annualised_return": annualised if math.isfinite(annualised) else None,
        "max_drawdown": max_drawdown,
        "sharpe": sharpe,
        "win_rate": float(len(wins) / len(pnls)) if len(pnls) else None,
        "profit_factor": float(wins.sum() / gross_loss) if gross_loss > 0 else None,
        "trades": int(len(pnls)),
        "fees_paid": str(money(fees_paid)),
        "exposure_time": float(np.count_nonzero(position) / len(position)) if len(position) else 0.0,
        "start_balance": str(money(start_balance)),
        "final_equity": str(money(final)),
        "net_profit": str(money(final - start_balance)),
        "bars": int(len(equity)),
    }
    # The same ratios in percent, for people (chat, reports).
    for name in ("total_return", "annualised_return", "max_drawdown", "win_rate", "exposure_time"):
        value = metrics[name]
        metrics[f"{name}_pct"] = None if value is None else round(value * 100, 4)
    return metrics
