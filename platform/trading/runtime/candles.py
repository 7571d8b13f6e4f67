"""Candles for a tick, fetched once per (exchange, symbol, timeframe, candle) and shared through Redis.

Every batch task that needs the window of a market asks `candle_window_get`. The first asker takes a
short Redis lock, reads the source (the candle store, or the exchange when the store lacks the bar)
and publishes the window as packed float64 columns; everyone else reads that key. Windows expire
after a few bars, so Redis holds only recent data.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import redis
from django.conf import settings

from core.embedded_redis import redis_py_url
from marketdata.series import Candles
from marketdata.timeframes import from_ms, timeframe_ms

logger = logging.getLogger(__name__)

KEY_PREFIX = "ldp:candles:v1"
LOCK_SECONDS = 30
WAIT_SECONDS = 15.0
_HEADER = struct.Struct("<I")  # number of bars
_MISSING = b"-"  # published when the source does not have the bar yet (short TTL)

CandleFetcher = Callable[[str, str, str, int, int], Candles]


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_py_url(url))


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def key_namespace() -> str:
    """Keys are per database: test runs and the benchmark share a Redis but never each other's candles."""
    from django.db import connection

    return f"{KEY_PREFIX}:{connection.settings_dict['NAME']}"


def window_key(exchange: str, symbol: str, timeframe: str, candle_ms: int, size: int) -> str:
    return f"{key_namespace()}:{exchange}:{symbol}:{timeframe}:{candle_ms}:{size}"


def windows_forget(client: redis.Redis | None = None) -> int:
    """Drop this database's shared windows (tests, benchmark)."""
    client = client or redis_client()
    keys = list(client.scan_iter(match=f"{key_namespace()}:*", count=1000))
    return client.delete(*keys) if keys else 0


def encode(candles: Candles) -> bytes:
    columns = np.vstack(
        [candles.ts.astype(np.float64), candles.open, candles.high, candles.low, candles.close, candles.volume]
    )
    return _HEADER.pack(len(candles)) + np.ascontiguousarray(columns, dtype="<f8").tobytes()


def decode(blob: bytes, *, exchange: str, symbol: str, timeframe: str) -> Candles:
    (count,) = _HEADER.unpack_from(blob)
    columns = np.frombuffer(blob, dtype="<f8", offset=_HEADER.size).reshape(6, count)
    return Candles.from_arrays(
        columns[0].astype(np.int64), columns[1], columns[2], columns[3], columns[4], columns[5],
        timeframe=timeframe, symbol=symbol, exchange=exchange,
    )


def store_fetch(exchange: str, symbol: str, timeframe: str, candle_ms: int, size: int) -> Candles:
    """The last `size` bars up to and including the bar opening at `candle_ms`, from the candle store."""
    from marketdata.selectors import candles_get

    step = timeframe_ms(timeframe)
    return candles_get(
        exchange=exchange, symbol=symbol, timeframe=timeframe,
        start=from_ms(candle_ms - (size - 1) * step), end=from_ms(candle_ms + step),
    )


def source_fetch(exchange: str, symbol: str, timeframe: str, candle_ms: int, size: int) -> Candles:
    """The candle store first; when it lacks the wanted bar, the exchange's public API (and the bars
    fetched are stored, so the next reader — or a later simulation — finds them)."""
    candles = store_fetch(exchange, symbol, timeframe, candle_ms, size)
    if (len(candles) and int(candles.ts[-1]) == candle_ms) or exchange not in settings.SUPPORTED_EXCHANGES:
        return candles
    fetched = exchange_fetch(exchange, symbol, timeframe, candle_ms, size)
    if fetched is None or not len(fetched):
        return candles
    from marketdata.services import candles_store

    candles_store(candles=fetched)
    return fetched


EXCHANGE_LIMIT = 1500  # bars per request (Binance's maximum)


def exchange_fetch(exchange: str, symbol: str, timeframe: str, candle_ms: int, size: int) -> Candles | None:
    """Closed bars up to `candle_ms` from the exchange's public OHLCV endpoint; None when it cannot answer."""
    from asgiref.sync import async_to_sync

    from marketdata.symbols import symbol_canonical
    from trading.gateways.errors import GatewayError
    from trading.gateways.pool import LiveGatewayPool

    step = timeframe_ms(timeframe)
    limit = min(size, EXCHANGE_LIMIT)

    async def fetch() -> list[list[float]]:
        async with LiveGatewayPool() as pool:
            gateway = await pool.public(exchange)
            return await gateway.fetch_ohlcv(symbol, timeframe, candle_ms - (limit - 1) * step, limit)

    try:
        rows = async_to_sync(fetch)()
    except GatewayError as error:
        logger.warning("candles %s %s %s from the exchange: %s", exchange, symbol, timeframe, error)
        return None
    rows = [row for row in rows if int(row[0]) <= candle_ms]  # never the bar that is still forming
    if not rows:
        return None
    columns = np.asarray(rows, dtype=np.float64)
    return Candles.from_arrays(
        columns[:, 0].astype(np.int64), columns[:, 1], columns[:, 2], columns[:, 3], columns[:, 4], columns[:, 5],
        timeframe=timeframe, symbol=symbol_canonical(symbol), exchange=exchange,
    )


def candle_window_get(
    *,
    exchange: str,
    symbol: str,
    timeframe: str,
    candle_ms: int,
    size: int,
    fetch: CandleFetcher | None = None,
    client: redis.Redis | None = None,
) -> Candles | None:
    """The shared window of `size` bars ending with the bar that opens at `candle_ms`, or None when
    the source does not have that bar yet (the caller retries later)."""
    client = client or redis_client()
    fetch = fetch or source_fetch
    key = window_key(exchange, symbol, timeframe, candle_ms, size)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        blob = client.get(key)
        if blob is not None:
            if blob == _MISSING:
                return None
            return decode(blob, exchange=exchange, symbol=symbol, timeframe=timeframe)
        if client.set(key + ":lock", b"1", nx=True, ex=LOCK_SECONDS):
            try:
                return _load_and_publish(client, key, fetch, exchange, symbol, timeframe, candle_ms, size)
            finally:
                client.delete(key + ":lock")
        if time.monotonic() > deadline:
            logger.warning("waited too long for candles %s; reading the source directly", key)
            return _complete(fetch(exchange, symbol, timeframe, candle_ms, size), candle_ms)
        time.sleep(0.02)


def _load_and_publish(
    client: redis.Redis, key: str, fetch: CandleFetcher,
    exchange: str, symbol: str, timeframe: str, candle_ms: int, size: int,
) -> Candles | None:
    step_s = timeframe_ms(timeframe) // 1000
    candles = _complete(fetch(exchange, symbol, timeframe, candle_ms, size), candle_ms)
    if candles is None:
        client.set(key, _MISSING, ex=2)
        return None
    client.set(key, encode(candles), ex=max(3 * step_s, 600))
    return candles


def _complete(candles: Candles, candle_ms: int) -> Candles | None:
    """Only a window that ends exactly with the wanted bar counts (a late exchange returns older bars)."""
    if len(candles) == 0 or int(candles.ts[-1]) != candle_ms:
        return None
    return candles
