from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import IntegrityError

from core.errors import ValidationError
from marketdata.demo import DEMO_SYMBOLS, demo_candles_load
from marketdata.generator import generate_candles
from marketdata.models import Candle
from marketdata.selectors import (
    candle_coverage_list,
    candle_exchange_resolve,
    candle_gaps,
    candles_get,
)
from marketdata.series import candles_write_csv
from marketdata.services import candles_generate, candles_import_csv, candles_store
from marketdata.timeframes import to_ms

pytestmark = pytest.mark.django_db
END = datetime(2024, 3, 1, tzinfo=UTC)


def test_candles_are_stored_as_decimals_once_per_key() -> None:
    candles = generate_candles("BTC/USDT", start_ms=to_ms(END), count=100)
    assert candles_store(candles=candles) == 100
    assert candles_store(candles=candles) == 0  # stored bars are kept, not duplicated
    row = Candle.objects.order_by("open_time").first()
    assert isinstance(row.open, Decimal) and row.open == Decimal(repr(float(candles.open[0])))
    assert row.open_time == END and row.is_synthetic
    with pytest.raises(IntegrityError):
        Candle.objects.create(exchange="synthetic", symbol="BTC/USDT", timeframe="1m", open_time=END,
                              open=1, high=1, low=1, close=1, volume=1)


def test_range_read_returns_floats_and_resamples_from_minutes() -> None:
    candles_generate(symbols=["ETH/USDT"], days=2, end=END)
    minutes = candles_get(exchange="synthetic", symbol="ETH/USDT", timeframe="1m",
                          start=END - timedelta(days=1), end=END)
    assert len(minutes) == 1440 and minutes.ts[0] == to_ms(END - timedelta(days=1))
    hours = candles_get(exchange="synthetic", symbol="eth/usdt", timeframe="1h",
                        start=END - timedelta(days=1), end=END)
    assert len(hours) == 24 and hours.synthetic
    assert hours.high[0] == minutes.high[:60].max() and hours.close[0] == minutes.close[59]


def test_coverage_gaps_and_source_resolution() -> None:
    candles = generate_candles("BTC/USDT", start_ms=to_ms(END), count=30)
    keep = np.r_[0:10, 20:30]
    candles_store(candles=candles.__class__.from_arrays(
        candles.ts[keep], candles.open[keep], candles.high[keep], candles.low[keep], candles.close[keep],
        candles.volume[keep], timeframe="1m", symbol="BTC/USDT", exchange="binanceusdm"))
    gaps = candle_gaps(exchange="binanceusdm", symbol="BTC/USDT", timeframe="1m", start=END,
                       end=END + timedelta(minutes=30))
    assert gaps == [(END + timedelta(minutes=10), END + timedelta(minutes=20))]
    [coverage] = candle_coverage_list()
    assert (coverage.exchange, coverage.count) == ("binanceusdm", 20)
    assert candle_exchange_resolve(symbol="BTC/USDT", timeframe="1h", preferred=["binanceusdm"]) == "binanceusdm"
    with pytest.raises(ValidationError, match="no market data for XRP/USDT; symbols with data: BTC/USDT"):
        candle_exchange_resolve(symbol="XRP/USDT", timeframe="1h", preferred=[])


def test_csv_import_round_trip(tmp_path) -> None:
    candles = generate_candles("SOL/USDT", start_ms=to_ms(END), count=300)
    path = tmp_path / "sol.csv"
    candles_write_csv(candles, path)
    report = candles_import_csv(path=path, symbol="SOL/USDT", exchange="binance")
    assert (report.rows, report.stored, report.timeframe) == (300, 300, "1m")
    back = candles_get(exchange="binance", symbol="SOL/USDT", timeframe="1m", start=END,
                       end=END + timedelta(hours=5))
    np.testing.assert_array_equal(back.close, candles.close)
    assert not back.synthetic


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,o,h,l,c,v\n", "header must be"),
        ("timestamp,open,high,low,close,volume\n", "no candles"),
        ("timestamp,open,high,low,close,volume\n1704067200000,1,2,0.5,x,1\n", "line 2: not a number"),
        ("timestamp,open,high,low,close,volume\n1704067200000,1,2,0.5,3,1\n1704067260000,1,2,1,1,1\n",
         "low <= open, close <= high"),
    ],
)
def test_bad_csv_is_refused_with_the_reason(tmp_path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValidationError, match=message):
        candles_import_csv(path=path, symbol="BTC/USDT", timeframe="1m")
    assert not Candle.objects.exists()


def test_demo_loads_weeks_of_synthetic_minutes_once(capsys) -> None:
    now = datetime(2024, 5, 17, 13, 45, tzinfo=UTC)
    demo_candles_load(progress=True, now=now)
    demo_candles_load(progress=True, now=now + timedelta(days=1))
    out = capsys.readouterr()
    assert "SYNTHETIC" in out.out and "already loaded" in out.out
    for symbol in DEMO_SYMBOLS:
        rows = Candle.objects.filter(exchange="synthetic", symbol=symbol)
        assert rows.count() == 21 * 1440
        assert rows.order_by("-open_time").first().open_time == datetime(2024, 5, 16, 23, 59, tzinfo=UTC)
