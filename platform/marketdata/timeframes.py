"""Timeframes as the exchanges name them, and their length in milliseconds.

Bars are aligned to UTC: a bar of timeframe T opens at a multiple of T since the Unix epoch, which is
how Binance (and ccxt) label their klines for every timeframe up to one day.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.errors import ValidationError

MINUTE_MS = 60_000

TIMEFRAME_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
}
TIMEFRAMES: tuple[str, ...] = tuple(TIMEFRAME_MS)
BASE_TIMEFRAME = "1m"
YEAR_MS = int(365.25 * 86_400_000)


def timeframe_ms(timeframe: str, *, field: str = "timeframe") -> int:
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        raise ValidationError(
            f"{field} must be one of {', '.join(TIMEFRAMES)} (got {timeframe!r})", field=field
        ) from None


def timeframe_from_ms(ms: int) -> str | None:
    for name, length in TIMEFRAME_MS.items():
        if length == ms:
            return name
    return None


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: use an aware UTC time")
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso_ms(ms: int) -> str:
    """ISO-8601 UTC with a Z, e.g. 2024-01-01T00:05:00Z."""
    return from_ms(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def floor_ms(ms: int, timeframe: str) -> int:
    step = timeframe_ms(timeframe)
    return ms - ms % step


def ceil_ms(ms: int, timeframe: str) -> int:
    step = timeframe_ms(timeframe)
    return -(-ms // step) * step
