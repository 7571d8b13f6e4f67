"""Bollinger-band scalping: buy when a close comes back inside the lower band, sell when price crosses up
through the middle band. With allow_short, the mirror image at the upper band."""

from __future__ import annotations

from typing import Any

import numpy as np

from marketdata.series import Candles
from trading.params import Param, ParamSchema
from trading.strategies.base import Bar, Decision, Signals, Strategy, above, below
from trading.strategies.common import common_params
from trading.strategies.indicators import rolling_std, sma, window_mean, window_push, window_std
from trading.strategies.registry import strategy_register


@strategy_register
class BollingerScalp(Strategy):
    name = "bollinger_scalp"
    title = "Bollinger-band scalping"
    description = "Buys a close back inside the lower band and sells at the middle band."
    params = common_params(timeframe="5m") + ParamSchema(
        [
            Param("period", "int", 20, min=5, max=200, unit="bars", label="Band period",
                  description="moving average and deviation length, in bars"),
            Param("std_mult", "float", 2.0, min=0.5, max=5, step=0.1, label="Band width",
                  description="band distance from the middle, in standard deviations"),
            Param("allow_short", "bool", False, label="Go short",
                  description="also short a close back inside the upper band"),
        ]
    )

    def warmup(self) -> int:
        return int(self.settings["period"]) + 1

    def _rule(self, close: Any, prev_close: Any, mid: Any, prev_mid: Any, sd: Any, prev_sd: Any) -> Any:
        k = self.settings["std_mult"]
        lower, prev_lower = mid - k * sd, prev_mid - k * prev_sd
        long_entry = below(prev_close, prev_lower) & ~below(close, lower)
        leave = below(prev_close, prev_mid) & ~below(close, mid)  # crossed up through the middle
        short_entry = np.zeros_like(long_entry)
        if self.settings["allow_short"]:
            upper, prev_upper = mid + k * sd, prev_mid + k * prev_sd
            short_entry = above(prev_close, prev_upper) & ~above(close, upper)
            leave = leave | (above(prev_close, prev_mid) & ~above(close, mid))
        target = np.where(leave, 0.0, np.where(long_entry, self.size, np.where(short_entry, -self.size, np.nan)))
        valid = ~np.isnan(np.asarray(prev_sd, dtype=float))
        return np.where(valid, target, np.nan)

    def signals(self, candles: Candles) -> Signals:
        period = self.settings["period"]
        close = candles.close
        mid = sma(close, period)
        sd = rolling_std(close, period)

        def shifted(values: np.ndarray) -> np.ndarray:
            return np.concatenate(([np.nan], values[:-1]))

        return Signals(target=self._rule(close, shifted(close), mid, shifted(mid), sd, shifted(sd)))

    def initial_state(self) -> dict[str, Any]:
        return {"last_ts": None, "closes": [], "prev": None}

    def _step(self, state: dict[str, Any], bar: Bar) -> tuple[dict[str, Any], Decision]:
        period = self.settings["period"]
        state["closes"] = window_push(state["closes"], bar.close, period)
        mid, sd = window_mean(state["closes"], period), window_std(state["closes"], period)
        prev, state["prev"] = state["prev"], None if mid is None else [bar.close, mid, sd]
        if mid is None or prev is None:
            return state, Decision()
        target = float(self._rule(*(np.asarray(v) for v in (bar.close, prev[0], mid, prev[1], sd, prev[2]))))
        return state, Decision(None if np.isnan(target) else target)
