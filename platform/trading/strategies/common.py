"""Settings every candle strategy shares: market, timeframe, sizing, leverage, stops."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marketdata.symbols import symbol_canonical
from marketdata.timeframes import TIMEFRAMES
from trading.params import Param, ParamSchema
from trading.runtime.protections import protection_params

MAX_LEVERAGE = 125  # Binance USDⓈ-M's highest bracket


def _symbol(text: str) -> str:
    symbol_canonical(text)  # validates the shape
    return text.upper()


def _stop_inside_liquidation(settings: Mapping[str, Any]) -> tuple[str, str] | None:
    leverage = settings["leverage"]
    stop = settings["stop_loss_pct"]
    if leverage > 1 and stop and stop >= 100.0 / leverage:
        return (
            "stop_loss_pct",
            f"stop_loss_pct must be below {100.0 / leverage:g}% at leverage {leverage}, "
            "or the position is liquidated before the stop is reached",
        )
    return None


def common_params(*, symbol: str = "BTC/USDT", timeframe: str = "1h") -> ParamSchema:
    return ParamSchema(
        [
            Param("symbol", "str", symbol, pattern=_symbol, group="common", label="Market",
                  description="market to trade, BASE/QUOTE (e.g. BTC/USDT)"),
            Param("timeframe", "choice", timeframe, choices=TIMEFRAMES, group="common", label="Timeframe",
                  description="candle length the strategy decides on"),
            Param("size_pct", "float", 100.0, min=1, max=100, unit="%", step=5, group="common",
                  label="Position size", description="share of equity committed (as margin) per entry"),
            Param("leverage", "int", 1, min=1, max=MAX_LEVERAGE, unit="x", group="common", label="Leverage",
                  description="futures leverage, isolated margin; 1 = no leverage"),
            Param("stop_loss_pct", "float", 0.0, min=0, max=99, unit="%", step=0.5, group="common",
                  label="Stop-loss", description="exit when price moves this far against the entry; 0 = off"),
            Param("take_profit_pct", "float", 0.0, min=0, max=1000, unit="%", step=0.5, group="common",
                  label="Take-profit", description="exit when price moves this far in favour; 0 = off"),
        ],
        checks=[_stop_inside_liquidation],
    ) + protection_params()  # max drawdown, stop-loss streak, cooldown, daily loss limit (RUNTIME)
