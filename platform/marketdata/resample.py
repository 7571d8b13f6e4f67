"""Resample 1-minute (or any smaller) candles to a larger timeframe, the way exchanges build bars.

open = first open, high = max, low = min, close = last close, volume = sum; each bar opens at a UTC
multiple of the timeframe. Missing source minutes are simply absent (an exchange builds a bar from the
trades it had), so a bar exists when at least one source candle falls in it.
"""

from __future__ import annotations

import numpy as np

from core.errors import ValidationError
from marketdata.series import Candles
from marketdata.timeframes import timeframe_ms


def resample(candles: Candles, timeframe: str, *, complete_only: bool = False) -> Candles:
    """Aggregate `candles` into `timeframe` bars.

    complete_only drops bars that lack any source candle (e.g. the still-forming last bar of a range),
    so every bar kept has all its source candles.
    """
    target_ms = timeframe_ms(timeframe)
    source_ms = candles.timeframe_ms
    if target_ms == source_ms:
        return candles
    if target_ms < source_ms or target_ms % source_ms:
        raise ValidationError(
            f"cannot build {timeframe} bars from {candles.timeframe} candles", field="timeframe"
        )
    if len(candles) == 0:
        return Candles.from_arrays([], [], [], [], [], [], timeframe=timeframe, symbol=candles.symbol,
                                   exchange=candles.exchange, synthetic=candles.synthetic)
    bucket = candles.ts - candles.ts % target_ms
    # Start of each run of equal buckets (ts is sorted, so buckets are too).
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [len(bucket)])) - 1
    result = Candles.from_arrays(
        bucket[starts],
        candles.open[starts],
        np.maximum.reduceat(candles.high, starts),
        np.minimum.reduceat(candles.low, starts),
        candles.close[ends],
        np.add.reduceat(candles.volume, starts),
        timeframe=timeframe,
        symbol=candles.symbol,
        exchange=candles.exchange,
        synthetic=candles.synthetic,
    )
    if complete_only:
        full = (ends - starts + 1) == target_ms // source_ms
        if not full.all():
            keep = np.flatnonzero(full)
            result = Candles.from_arrays(
                result.ts[keep], result.open[keep], result.high[keep], result.low[keep], result.close[keep],
                result.volume[keep], timeframe=timeframe, symbol=candles.symbol, exchange=candles.exchange,
                synthetic=candles.synthetic,
            )
    return result
