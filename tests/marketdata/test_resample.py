from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import ValidationError
from marketdata.generator import generate_candles
from marketdata.resample import resample
from marketdata.series import Candles

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MIN = 60_000


def minutes(rows: list[tuple[int, float, float, float, float, float]]) -> Candles:
    data = np.array(rows, dtype=float)
    return Candles.from_arrays(T0 + data[:, 0].astype(np.int64) * MIN, data[:, 1], data[:, 2], data[:, 3],
                               data[:, 4], data[:, 5], timeframe="1m", symbol="BTC/USDT", exchange="test")


def test_five_minute_bars_match_hand_made_ones() -> None:
    one = minutes([
        (0, 10, 12, 9, 11, 1), (1, 11, 13, 10, 12, 2), (2, 12, 12, 8, 9, 3), (3, 9, 10, 9, 10, 4),
        (4, 10, 11, 10, 11, 5), (5, 11, 15, 11, 14, 6), (6, 14, 14, 7, 8, 7),
    ])
    five = resample(one, "5m")
    assert five.ts.tolist() == [T0, T0 + 5 * MIN]
    assert five.open.tolist() == [10, 11]  # first open
    assert five.high.tolist() == [13, 15]  # max high
    assert five.low.tolist() == [8, 7]  # min low
    assert five.close.tolist() == [11, 8]  # last close
    assert five.volume.tolist() == [15, 13]  # summed volume


def test_bars_are_aligned_to_utc_even_when_the_data_starts_mid_bar() -> None:
    one = minutes([(57, 1, 1, 1, 1, 1), (58, 2, 2, 2, 2, 1), (59, 3, 3, 3, 3, 1), (60, 4, 4, 4, 4, 1)])
    hourly = resample(one, "1h")
    assert hourly.ts.tolist() == [T0, T0 + 60 * MIN]
    assert hourly.open.tolist() == [1, 4]


def test_missing_minutes_leave_the_bar_built_from_what_exists_unless_complete_only() -> None:
    one = minutes([(0, 1, 2, 1, 2, 1), (2, 2, 3, 2, 3, 1), (5, 3, 3, 3, 3, 1), (6, 3, 3, 3, 3, 1),
                   (7, 3, 3, 3, 3, 1), (8, 3, 3, 3, 3, 1), (9, 3, 3, 3, 3, 1)])
    assert len(resample(one, "5m")) == 2
    assert resample(one, "5m", complete_only=True).ts.tolist() == [T0 + 5 * MIN]


@pytest.mark.parametrize("timeframe", ["5m", "15m", "1h", "4h", "1d"])
def test_resampling_agrees_with_pandas_on_generated_minutes(timeframe: str) -> None:
    one = generate_candles("SOL/USDT", start_ms=T0 + 17 * MIN, count=5 * 1440)
    ours = resample(one, timeframe)
    frame = pd.DataFrame({"open": one.open, "high": one.high, "low": one.low, "close": one.close,
                          "volume": one.volume}, index=pd.to_datetime(one.ts, unit="ms"))
    rule = {"5m": "5min", "15m": "15min", "1h": "1h", "4h": "4h", "1d": "1D"}[timeframe]
    theirs = frame.resample(rule, origin="epoch", label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}).dropna()
    np.testing.assert_array_equal(ours.ts, theirs.index.as_unit("ms").asi8)
    for column in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(ours, column), theirs[column].to_numpy())
    np.testing.assert_allclose(ours.volume, theirs["volume"].to_numpy(), rtol=1e-12)
    assert ours.synthetic


def test_resampling_to_a_smaller_or_uneven_timeframe_is_refused() -> None:
    hourly = resample(generate_candles(start_ms=T0, count=120), "1h")
    with pytest.raises(ValidationError):
        resample(hourly, "5m")
