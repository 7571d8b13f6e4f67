"""Grid: buy a lot each time price falls one grid line, sell it when price rises one line above.

The grid has `levels` lines `spacing_pct` apart, centred on the first close. Holding k of `levels` lots
means a target of size × k / levels (long only, like a spot grid bot). A lot bought at line j is sold at
line j-1, one spacing higher, so each round trip earns a spacing. When price leaves the grid, the grid
re-centres on the current price (selling down to half the lots on a break-down, buying up to half on a
break-out), so it follows the market instead of sitting all-in or all-out.

The rule is path dependent (which lots are held depends on the path), so the "vectorised" form runs the
same tiny float update over the closes; there are no indicators to vectorise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from marketdata.series import Candles
from trading.params import Param, ParamSchema
from trading.strategies.base import Bar, Decision, Signals, Strategy
from trading.strategies.common import common_params
from trading.strategies.registry import strategy_register


def grid_update(anchor: float | None, lots: int, close: float, levels: int, spacing: float) -> tuple[float, int]:
    """One close: the new (anchor, lots). `spacing` is a fraction (0.01 = 1%)."""
    if anchor is None:
        anchor = close
    step = anchor * spacing
    top = anchor + step * levels / 2
    position = (top - close) / step  # 0 at the top line, `levels` at the bottom line
    if position < 0 or position > levels:
        anchor = close
        position = levels / 2
    # Hold between floor and ceil of the position: buy when a line is crossed downwards, sell a lot only
    # when price is back one full line above where it was bought.
    lots = min(max(lots, math.floor(position)), math.ceil(position))
    return anchor, lots


@strategy_register
class Grid(Strategy):
    name = "grid"
    title = "Grid"
    description = "Buys low and sells high on a price grid, for ranging markets (long only)."
    params = common_params(symbol="SOL/USDT", timeframe="5m") + ParamSchema(
        [
            Param("levels", "int", 10, min=2, max=100, label="Grid lines",
                  description="number of grid lines (lots)"),
            Param("spacing_pct", "float", 1.0, min=0.1, max=25, unit="%", step=0.1, label="Spacing",
                  description="distance between grid lines, in percent of the centre price"),
        ]
    )

    def _target(self, lots: int) -> float:
        return self.size * lots / self.settings["levels"]

    def signals(self, candles: Candles) -> Signals:
        levels, spacing = self.settings["levels"], self.settings["spacing_pct"] / 100.0
        target = np.full(len(candles), np.nan)
        anchor: float | None = None
        lots = 0
        for index, close in enumerate(candles.close.tolist()):
            anchor, new_lots = grid_update(anchor, lots, close, levels, spacing)
            if new_lots != lots or index == 0:
                target[index] = self._target(new_lots)
            lots = new_lots
        return Signals(target=target)

    def initial_state(self) -> dict[str, Any]:
        return {"last_ts": None, "anchor": None, "lots": 0, "seen": False}

    def _step(self, state: dict[str, Any], bar: Bar) -> tuple[dict[str, Any], Decision]:
        levels, spacing = self.settings["levels"], self.settings["spacing_pct"] / 100.0
        state["anchor"], lots = grid_update(state["anchor"], state["lots"], bar.close, levels, spacing)
        changed = lots != state["lots"] or not state["seen"]
        state["lots"], state["seen"] = lots, True
        return state, Decision(self._target(lots) if changed else None)
