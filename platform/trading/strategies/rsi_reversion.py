"""RSI mean reversion: buy when RSI climbs back above the oversold line, sell when it reaches overbought.
With allow_short, the mirror image: short when RSI falls back below overbought, cover at oversold."""

from __future__ import annotations

from typing import Any

import numpy as np

from marketdata.series import Candles
from trading.params import Param, ParamSchema
from trading.strategies.base import Bar, Decision, Signals, Strategy, above, below
from trading.strategies.common import common_params
from trading.strategies.indicators import rsi, rsi_update
from trading.strategies.registry import strategy_register


def _levels_ordered(settings: dict[str, Any]) -> tuple[str, str] | None:
    if settings["oversold"] >= settings["overbought"]:
        return "oversold", "oversold must be below overbought"
    return None


@strategy_register
class RsiReversion(Strategy):
    name = "rsi_reversion"
    title = "RSI mean reversion"
    description = "Buys when RSI recovers from oversold and sells when it reaches overbought."
    params = common_params(symbol="ETH/USDT", timeframe="15m") + ParamSchema(
        [
            Param("period", "int", 14, min=2, max=100, unit="bars", label="RSI period",
                  description="Wilder RSI length, in bars"),
            Param("oversold", "float", 30.0, min=1, max=49, label="Oversold",
                  description="buy when RSI crosses back above this level"),
            Param("overbought", "float", 70.0, min=51, max=99, label="Overbought",
                  description="sell when RSI crosses above this level"),
            Param("allow_short", "bool", False, label="Go short",
                  description="also short when RSI falls back below overbought"),
        ],
        checks=[_levels_ordered],
    )

    def warmup(self) -> int:
        return int(self.settings["period"]) + 1

    def _rule(self, value: Any, prev: Any) -> Any:
        """Crossings of the two lines; when one bar jumps across both lines, leaving wins."""
        low, high = self.settings["oversold"], self.settings["overbought"]
        long_entry = below(prev, low) & ~below(value, low)
        leave = below(prev, high) & ~below(value, high)  # crossed up through overbought
        short_entry = np.zeros_like(long_entry)
        if self.settings["allow_short"]:
            short_entry = above(prev, high) & ~above(value, high)
            leave = leave | (above(prev, low) & ~above(value, low))  # crossed down through oversold
        target = np.where(leave, 0.0, np.where(long_entry, self.size, np.where(short_entry, -self.size, np.nan)))
        valid = ~np.isnan(np.asarray(value, dtype=float)) & ~np.isnan(np.asarray(prev, dtype=float))
        return np.where(valid, target, np.nan)

    def signals(self, candles: Candles) -> Signals:
        value = rsi(candles.close, self.settings["period"])
        prev = np.concatenate(([np.nan], value[:-1]))
        return Signals(target=self._rule(value, prev))

    def initial_state(self) -> dict[str, Any]:
        return {"last_ts": None, "rsi": None, "prev": None}

    def _step(self, state: dict[str, Any], bar: Bar) -> tuple[dict[str, Any], Decision]:
        state["rsi"], value = rsi_update(state["rsi"], bar.close, self.settings["period"])
        prev, state["prev"] = state["prev"], value
        if value is None or prev is None:
            return state, Decision()
        target = float(self._rule(np.asarray(value), np.asarray(prev)))
        return state, Decision(None if np.isnan(target) else target)
