"""The result chart (PNG, matplotlib Agg): price with entries/exits, equity, drawdown.

Charts of generated candles say "SYNTHETIC DATA" in the title and across the price panel.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trading.simulation.runner import SimulationResult  # noqa: E402

MAX_POINTS = 4_000  # plotted points per line: a million bars would only blur (and slow) the picture
MAX_MARKERS = 400


def _thin(length: int) -> np.ndarray:
    if length <= MAX_POINTS:
        return np.arange(length)
    return np.unique(np.linspace(0, length - 1, MAX_POINTS).astype(np.int64))


def chart_heading(result: SimulationResult, title: str | None = None) -> str:
    candles = result.candles
    heading = title or f"{result.strategy} · {candles.symbol or 'CSV'} {candles.timeframe}"
    return f"{heading} · SYNTHETIC DATA" if candles.synthetic else heading


def render_chart(result: SimulationResult, *, title: str | None = None) -> bytes:
    candles = result.candles
    offset = result.engine.offset
    times = candles.ts.astype("datetime64[ms]")
    pick = _thin(len(candles))
    equity = result.engine.equity
    peaks = np.maximum.accumulate(np.concatenate(([result.engine.start_balance], equity)))[1:]
    drawdown = np.where(peaks > 0, equity / peaks - 1.0, 0.0) * 100

    fig, (ax_price, ax_equity, ax_dd) = plt.subplots(
        3, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 2, 1]}
    )
    synthetic = candles.synthetic
    fig.suptitle(chart_heading(result, title), fontsize=12, color="#b00020" if synthetic else "black")
    ax_price.plot(times[pick], candles.close[pick], color="#333333", linewidth=0.8, label="close")
    trades = result.engine.trades
    if len(trades) <= MAX_MARKERS:
        ax_price.scatter([times[t.entry_bar - offset] for t in trades], [t.entry_price for t in trades],
                         marker="^", color="#1b8a3a", s=28, zorder=3, label="entry")
        exits = [t for t in trades if t.exit_bar is not None]
        ax_price.scatter([times[t.exit_bar - offset] for t in exits], [t.exit_price for t in exits],
                         marker="v", color="#c62828", s=28, zorder=3, label="exit")
        ax_price.legend(loc="upper left", fontsize=8)
    else:
        ax_price.text(0.01, 0.95, f"{len(trades)} trades (markers omitted)", transform=ax_price.transAxes,
                      fontsize=8, va="top")
    if synthetic:
        ax_price.text(0.5, 0.5, "SYNTHETIC DATA", transform=ax_price.transAxes, fontsize=36, color="#b00020",
                      alpha=0.12, ha="center", va="center", rotation=15)
    ax_price.set_ylabel("price")
    ax_equity.plot(times[pick], equity[pick], color="#1565c0", linewidth=1.0)
    ax_equity.axhline(result.engine.start_balance, color="#999999", linewidth=0.6, linestyle="--")
    ax_equity.set_ylabel("equity")
    ax_dd.fill_between(times[pick], drawdown[pick], 0, color="#c62828", alpha=0.4, linewidth=0)
    ax_dd.set_ylabel("drawdown %")
    m = result.metrics
    ax_equity.text(
        0.01, 0.95,
        f"return {m['total_return'] * 100:.2f}%  ·  max DD {m['max_drawdown'] * 100:.2f}%  ·  "
        f"Sharpe {m['sharpe']:.2f}  ·  trades {m['trades']}  ·  fees {float(m['fees_paid']):.2f}",
        transform=ax_equity.transAxes, fontsize=8, va="top",
    )
    ax_dd.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax_dd.xaxis.get_major_locator()))
    for axis in (ax_price, ax_equity, ax_dd):
        axis.grid(alpha=0.25)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()
