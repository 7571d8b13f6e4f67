"""Reads of the candle store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from django.db.models import Count, FloatField, Max, Min
from django.db.models.functions import Cast

from core.errors import ValidationError
from marketdata.models import Candle
from marketdata.resample import resample
from marketdata.series import Candles
from marketdata.symbols import symbol_canonical
from marketdata.timeframes import BASE_TIMEFRAME, from_ms, timeframe_ms, to_ms


@dataclass(frozen=True)
class Coverage:
    exchange: str
    symbol: str
    timeframe: str
    first: datetime
    last: datetime
    count: int


def candle_symbols(*, exchange: str | None = None) -> list[str]:
    rows = Candle.objects.all()
    if exchange:
        rows = rows.filter(exchange=exchange)
    return sorted(rows.values_list("symbol", flat=True).distinct())


def candle_coverage_list(*, exchange: str | None = None, symbol: str | None = None) -> list[Coverage]:
    """What the store holds, per (exchange, symbol, timeframe)."""
    rows = Candle.objects.all()
    if exchange:
        rows = rows.filter(exchange=exchange)
    if symbol:
        rows = rows.filter(symbol=symbol_canonical(symbol))
    grouped = (
        rows.values("exchange", "symbol", "timeframe")
        .annotate(first=Min("open_time"), last=Max("open_time"), count=Count("id"))
        .order_by("exchange", "symbol", "timeframe")
    )
    return [Coverage(**row) for row in grouped]


def candle_exchange_resolve(*, symbol: str, timeframe: str, preferred: list[str]) -> str:
    """The first source in `preferred` that has candles for the symbol (stored at the timeframe, or at 1m
    to resample); any source with data if none of them has. ValidationError when nobody has the symbol."""
    canonical = symbol_canonical(symbol)
    available = set(
        Candle.objects.filter(symbol=canonical, timeframe__in={timeframe, BASE_TIMEFRAME})
        .values_list("exchange", flat=True)
        .distinct()
    )
    if not available:
        known = candle_symbols()
        hint = f"; symbols with data: {', '.join(known)}" if known else "; the candle store is empty"
        raise ValidationError(f"no market data for {canonical}{hint}", field="symbol")
    for name in preferred:
        if name in available:
            return name
    return sorted(available)[0]


def _read(exchange: str, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> Candles:
    rows = (
        Candle.objects.filter(
            exchange=exchange, symbol=symbol, timeframe=timeframe,
            open_time__gte=from_ms(start_ms), open_time__lt=from_ms(end_ms),
        )
        .order_by("open_time")
        .annotate(
            o=Cast("open", FloatField()), h=Cast("high", FloatField()), lo=Cast("low", FloatField()),
            c=Cast("close", FloatField()), v=Cast("volume", FloatField()),
        )
        .values_list("open_time", "o", "h", "lo", "c", "v")
    )
    # Read in chunks into numpy, so a range of millions of bars never holds millions of row tuples at once.
    parts: list[np.ndarray] = []
    chunk: list[tuple] = []
    for row in rows.iterator(chunk_size=_CHUNK):
        chunk.append(row)
        if len(chunk) == _CHUNK:
            parts.append(_columns(chunk))
            chunk = []
    if chunk:
        parts.append(_columns(chunk))
    if not parts:
        return Candles.from_arrays([], [], [], [], [], [], timeframe=timeframe, symbol=symbol, exchange=exchange)
    data = np.concatenate(parts, axis=1)
    return Candles.from_arrays(
        data[0].astype(np.int64), data[1], data[2], data[3], data[4], data[5],
        timeframe=timeframe, symbol=symbol, exchange=exchange,
    )


_CHUNK = 50_000


def _columns(rows: list[tuple]) -> np.ndarray:
    times, *values = zip(*rows, strict=True)
    ts = pd.DatetimeIndex(times).as_unit("ms").asi8.astype(np.float64)  # exact: ms fit in 53 bits
    return np.vstack([ts, *(np.asarray(column, dtype=np.float64) for column in values)])


def candles_get(*, exchange: str, symbol: str, timeframe: str, start: datetime, end: datetime) -> Candles:
    """Bars with open time in [start, end): stored ones at `timeframe`, else resampled from 1m candles."""
    canonical = symbol_canonical(symbol)
    step = timeframe_ms(timeframe)
    start_ms = to_ms(start) - to_ms(start) % step
    end_ms = to_ms(end)
    candles = _read(exchange, canonical, timeframe, start_ms, end_ms)
    if len(candles) == 0 and timeframe != BASE_TIMEFRAME:
        candles = resample(_read(exchange, canonical, BASE_TIMEFRAME, start_ms, end_ms), timeframe)
    return candles


def candle_open_times(*, exchange: str, symbol: str, timeframe: str, start: datetime, end: datetime) -> np.ndarray:
    times = Candle.objects.filter(
        exchange=exchange, symbol=symbol_canonical(symbol), timeframe=timeframe,
        open_time__gte=start, open_time__lt=end,
    ).order_by("open_time").values_list("open_time", flat=True)
    return pd.DatetimeIndex(list(times)).as_unit("ms").asi8 if times else np.array([], dtype=np.int64)


def missing_ranges(present_ms: np.ndarray, *, start_ms: int, end_ms: int, step_ms: int) -> list[tuple[int, int]]:
    """[from, to) ranges of bar open times in [start_ms, end_ms) that `present_ms` lacks."""
    first = start_ms + (-start_ms) % step_ms
    if first >= end_ms:
        return []
    present = np.asarray(present_ms, dtype=np.int64)
    present = present[(present >= first) & (present < end_ms)]
    bounds = np.concatenate(([first - step_ms], present, [end_ms + (-end_ms) % step_ms]))
    holes = np.flatnonzero(np.diff(bounds) > step_ms)
    return [(int(bounds[i] + step_ms), int(min(bounds[i + 1], end_ms))) for i in holes]


def candle_gaps(
    *, exchange: str, symbol: str, timeframe: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Ranges [from, to) in which the store lacks bars."""
    present = candle_open_times(exchange=exchange, symbol=symbol, timeframe=timeframe, start=start, end=end)
    return [
        (from_ms(a), from_ms(b))
        for a, b in missing_ranges(present, start_ms=to_ms(start), end_ms=to_ms(end), step_ms=timeframe_ms(timeframe))
    ]
