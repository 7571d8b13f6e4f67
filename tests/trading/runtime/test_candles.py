"""Shared candle windows: read once from the source, published in Redis, the exchange when the store lacks a bar."""

from __future__ import annotations

import pytest
from django.utils import timezone

from marketdata.models import Candle
from marketdata.timeframes import MINUTE_MS, to_ms
from tests.trading.runtime.conftest import EXCHANGE, START_MS, store_candles
from trading.runtime.candles import candle_window_get, decode, encode, source_fetch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_candles")]


def test_a_window_round_trips_through_its_packed_form() -> None:
    candles = store_candles(count=30)
    again = decode(encode(candles), exchange=EXCHANGE, symbol="BTC/USDT", timeframe="1m")
    assert (again.ts == candles.ts).all() and (again.close == candles.close).all() and (again.low == candles.low).all()


def test_the_source_is_read_once_per_market_and_candle_then_shared() -> None:
    store_candles(count=80)
    calls = []

    def counting(*args):  # noqa: ANN002, ANN202
        calls.append(args)
        return source_fetch(*args)

    candle_ms = START_MS + 70 * MINUTE_MS
    first = candle_window_get(exchange=EXCHANGE, symbol="BTC/USDT", timeframe="1m", candle_ms=candle_ms, size=16,
                              fetch=counting)
    second = candle_window_get(exchange=EXCHANGE, symbol="BTC/USDT", timeframe="1m", candle_ms=candle_ms, size=16,
                               fetch=counting)
    assert len(calls) == 1
    assert len(first) == 16 and int(first.ts[-1]) == candle_ms
    assert (second.close == first.close).all()


def test_a_bar_the_source_does_not_have_yet_gives_none() -> None:
    store_candles(count=20)
    late = START_MS + 25 * MINUTE_MS
    assert candle_window_get(exchange=EXCHANGE, symbol="BTC/USDT", timeframe="1m", candle_ms=late, size=16) is None


@pytest.mark.usefixtures("exchange_api_base")
def test_bars_missing_from_the_store_come_from_the_exchange_and_are_stored() -> None:
    now_ms = to_ms(timezone.now())
    candle_ms = now_ms - now_ms % MINUTE_MS - MINUTE_MS
    window = candle_window_get(exchange=EXCHANGE, symbol="BTC/USDT", timeframe="1m", candle_ms=candle_ms, size=16)
    assert window is not None and len(window) == 16 and int(window.ts[-1]) == candle_ms
    assert Candle.objects.filter(exchange=EXCHANGE, symbol="BTC/USDT", timeframe="1m").count() == 16
