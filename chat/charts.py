"""The equity chart of a report: a small PNG line chart (matplotlib, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402


def equity_chart_png(series: Sequence[tuple[datetime, Decimal]], *, title: str, currency: str = "USDT") -> bytes | None:
    """PNG of an equity series, or None when there is nothing to draw (fewer than two points)."""
    if len(series) < 2:
        return None
    times = [moment for moment, _ in series]
    values = [float(value) for _, value in series]
    figure, axis = plt.subplots(figsize=(8, 3.6), dpi=100)
    try:
        colour = "#1a7f37" if values[-1] >= values[0] else "#cf222e"
        axis.plot(times, values, color=colour, linewidth=1.6, drawstyle="steps-post")
        axis.fill_between(times, values, min(values), color=colour, alpha=0.08, step="post")
        axis.set_title(title, fontsize=11, loc="left")
        axis.set_ylabel(currency)
        axis.grid(alpha=0.25)
        axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(mdates.AutoDateLocator()))
        axis.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
