from __future__ import annotations

import numpy as np
import pandas as pd

from marketdata.generator import SYMBOLS, generate_candles

T0 = 1_704_067_200_000


def test_same_seed_same_candles_and_symbols_differ() -> None:
    a = generate_candles("BTC/USDT", start_ms=T0, count=2_000, seed=1)
    b = generate_candles("BTC/USDT", start_ms=T0, count=2_000, seed=1)
    c = generate_candles("ETH/USDT", start_ms=T0, count=2_000, seed=1)
    np.testing.assert_array_equal(a.close, b.close)
    assert not np.allclose(a.close / a.close[0], c.close / c.close[0])
    assert len(SYMBOLS) >= 3 and "BTC/USDT" in SYMBOLS and "ETH/USDT" in SYMBOLS


def test_bars_are_consistent_minutes_labelled_synthetic() -> None:
    candles = generate_candles("SOL/USDT", start_ms=T0 + 12_345, count=50_000)
    candles.check()  # ordered, aligned, low <= open, close <= high, positive, volume >= 0
    assert np.all(np.diff(candles.ts) == 60_000) and candles.ts[0] % 60_000 == 0
    np.testing.assert_array_equal(candles.open[1:], candles.close[:-1])
    assert candles.synthetic and candles.exchange == "synthetic"
    assert np.all(candles.volume > 0)


def test_returns_have_fat_tails_and_volatility_clusters() -> None:
    candles = generate_candles("BTC/USDT", start_ms=T0, count=200_000)
    returns = pd.Series(np.diff(np.log(candles.close)))
    assert returns.kurt() > 3  # excess kurtosis: fatter tails than a normal distribution
    assert abs(returns.autocorr(1)) < 0.05  # returns themselves are close to unpredictable …
    assert returns.abs().autocorr(1) > 0.1  # … but their size clusters
    assert returns.abs().autocorr(60) > 0.05


def test_prices_trend_and_range_at_a_realistic_volatility() -> None:
    candles = generate_candles("BTC/USDT", start_ms=T0, count=180 * 1440)
    daily = candles.close[::1440]
    annual_vol = np.std(np.diff(np.log(daily))) * np.sqrt(365)
    assert 0.3 < annual_vol < 1.2
    assert daily.min() / daily[0] > 0.3 and daily.max() / daily[0] < 3
    moves = np.abs(np.diff(np.log(daily[::7])))  # weekly moves: some quiet weeks, some big ones
    assert moves.max() > 4 * moves.min()
