"""Simulations without a bot: over stored candles or a CSV file (what `ldp simulate` runs).

Nothing is persisted. The CSV path reads no database rows at all.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings as django_settings

from core.errors import ValidationError
from marketdata.resample import resample
from marketdata.series import Candles, candles_read_csv
from marketdata.timeframes import timeframe_ms, to_ms
from trading.simulation.runner import ProgressFn, SimulationResult, simulate
from trading.strategies.base import Strategy
from trading.strategies.registry import strategy_get


def _strategy(name: str, params: dict[str, Any]) -> Strategy:
    cls = strategy_get(name)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ValidationError(f"{name} is not a candle strategy and cannot be simulated", field="strategy")
    return cls(params)


def _check_range(start: datetime | None, end: datetime | None, bars: int) -> None:
    if start is not None and end is not None and end <= start:
        raise ValidationError("end must be after start", field="end")
    limit = django_settings.SIMULATION_MAX_CANDLES
    if bars > limit:
        raise ValidationError(f"that range has {bars:,} candles; the maximum is {limit:,} "
                              "(SIMULATION_MAX_CANDLES)", field="end")


def _from_csv(path: Path, symbol: str, timeframe: str | None) -> Candles:
    if not path.exists():
        raise ValidationError(f"no such file: {path}", field="csv")
    candles = candles_read_csv(path, symbol=symbol)
    if timeframe and timeframe != candles.timeframe:
        candles = resample(candles, timeframe)
    return candles


def _from_store(exchange: str | None, symbol: str, timeframe: str, start: datetime, end: datetime,
                warmup: int) -> Candles:
    from datetime import timedelta

    from marketdata.selectors import candle_exchange_resolve, candles_get
    from marketdata.series import SYNTHETIC_EXCHANGE

    source = exchange or candle_exchange_resolve(
        symbol=symbol, timeframe=timeframe,
        preferred=[*django_settings.SUPPORTED_EXCHANGES, "csv", SYNTHETIC_EXCHANGE],
    )
    warm_start = start - timedelta(milliseconds=timeframe_ms(timeframe) * warmup)
    return candles_get(exchange=source, symbol=symbol, timeframe=timeframe, start=warm_start, end=end)


def offline_simulation(
    *, strategy: str, params: dict[str, Any], csv_path: str | Path | None = None, symbol: str | None = None,
    timeframe: str | None = None, start: datetime | None = None, end: datetime | None = None,
    exchange: str | None = None, balance: float = 10_000.0, fee_rate: float = 0.001, slippage_bps: float = 0.0,
    leverage: int | None = None, progress: ProgressFn | None = None,
) -> SimulationResult:
    """Validate, load candles (CSV or store), simulate. Bars before `start` only warm indicators up."""
    settings = dict(params)
    for name, value in (("symbol", symbol), ("timeframe", timeframe), ("leverage", leverage)):
        if value is not None:
            settings[name] = value
    if csv_path is not None:
        settings.setdefault("symbol", "CSV/DATA")
        candles = _from_csv(Path(csv_path), settings["symbol"], timeframe)
        settings["timeframe"] = candles.timeframe
        runner = _strategy(strategy, settings)
        _check_range(start, end, len(candles))
        candles = candles.between(None, to_ms(end) if end else None)
    else:
        runner = _strategy(strategy, settings)
        if start is None or end is None:
            raise ValidationError("--start and --end are needed over stored candles (or give --csv)", field="start")
        frame = runner.settings["timeframe"]
        _check_range(start, end, -(-(to_ms(end) - to_ms(start)) // timeframe_ms(frame)) + runner.warmup())
        candles = _from_store(exchange, runner.settings["symbol"], frame, start, end, runner.warmup())
    start_index = int(np.searchsorted(candles.ts, to_ms(start))) if start else 0
    if len(candles) == 0 or start_index >= len(candles):
        raise ValidationError("there are no candles in the requested range", field="start")
    return simulate(candles, runner, balance=balance, fee_rate=fee_rate, slippage_bps=slippage_bps,
                    start_index=start_index, progress=progress)
