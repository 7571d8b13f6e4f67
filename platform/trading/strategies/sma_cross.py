"""SMA crossover: trend following. Long when the fast average crosses above the slow one; flat (or short,
with allow_short) when it crosses below. Invests `size_pct` of equity (all of it by default)."""

from __future__ import annotations

from typing import Any

import numpy as np

from marketdata.series import Candles
from trading.params import Param, ParamSchema
from trading.strategies.base import Bar, Decision, Signals, Strategy, trend_state
from trading.strategies.common import common_params
from trading.strategies.indicators import sma, window_mean, window_push
from trading.strategies.registry import strategy_register


def _fast_below_slow(settings: dict[str, Any]) -> tuple[str, str] | None:
    if settings["fast"] >= settings["slow"]:
        return "fast", f"fast ({settings['fast']}) must be smaller than slow ({settings['slow']})"
    return None


@strategy_register
class SmaCross(Strategy):
    name = "sma_cross"
    title = "SMA crossover"
    description = "Trend following: long when the fast SMA crosses above the slow SMA, out when it crosses below."
    params = common_params(timeframe="1h") + ParamSchema(
        [
            Param("fast", "int", 10, min=2, max=500, unit="bars", label="Fast SMA",
                  description="length of the fast moving average, in bars"),
            Param("slow", "int", 30, min=3, max=1000, unit="bars", label="Slow SMA",
                  description="length of the slow moving average, in bars"),
            Param("allow_short", "bool", False, label="Go short",
                  description="go short on a cross down instead of only leaving the market"),
        ],
        checks=[_fast_below_slow],
    )

    def warmup(self) -> int:
        return int(self.settings["slow"])

    def _rule(self, state: Any, prev: Any) -> Any:
        down = -self.size if self.settings["allow_short"] else 0.0
        up_cross = (state == 1) & (prev <= 0)
        down_cross = (state == -1) & (prev >= 0)
        return np.where(up_cross, self.size, np.where(down_cross, down, np.nan))

    def signals(self, candles: Candles) -> Signals:
        fast = sma(candles.close, self.settings["fast"])
        slow = sma(candles.close, self.settings["slow"])
        state = trend_state(fast, slow)
        prev = np.empty_like(state)
        prev[0] = 0
        prev[1:] = state[:-1]
        valid = np.zeros(len(state), dtype=bool)
        valid[1:] = ~np.isnan(slow[1:]) & ~np.isnan(slow[:-1])
        return Signals(target=np.where(valid, self._rule(state, prev), np.nan))

    def initial_state(self) -> dict[str, Any]:
        return {"last_ts": None, "closes": [], "trend": None}

    def _step(self, state: dict[str, Any], bar: Bar) -> tuple[dict[str, Any], Decision]:
        slow_n = self.settings["slow"]
        state["closes"] = window_push(state["closes"], bar.close, slow_n)
        slow = window_mean(state["closes"], slow_n)
        if slow is None:
            return state, Decision()
        fast = window_mean(state["closes"], self.settings["fast"])
        trend = int(trend_state(fast, slow))
        prev, state["trend"] = state["trend"], trend
        if prev is None:
            return state, Decision()
        target = float(self._rule(np.asarray(trend), np.asarray(prev)))
        return state, Decision(None if np.isnan(target) else target)
