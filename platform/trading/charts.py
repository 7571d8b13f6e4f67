"""Small charts for chat and admin, from stored data (e.g. BotRun.equity_curve)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


def equity_chart_png(curve: Sequence[Sequence[Any]], *, title: str = "Equity", synthetic: bool = False) -> bytes:
    """PNG of an equity curve given as [[iso_time, equity], …] (equity as number or decimal string)."""
    times = [datetime.fromisoformat(str(point[0]).replace("Z", "+00:00")) for point in curve]
    values = [float(point[1]) for point in curve]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(times, values, color="#1565c0", linewidth=1.2)
    if values:
        ax.axhline(values[0], color="#999999", linewidth=0.6, linestyle="--")
    heading = f"{title} · SYNTHETIC DATA" if synthetic else title
    ax.set_title(heading, color="#b00020" if synthetic else "black")
    ax.grid(alpha=0.25)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()
