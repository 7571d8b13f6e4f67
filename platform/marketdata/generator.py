"""A seeded market generator: SYNTHETIC 1-minute OHLCV for demos, tests and benchmarks.

No network here, and no package ships intraday crypto data, so the platform makes its own. The model
is a stochastic-volatility random walk with the stylised facts of real crypto minutes:

- volatility clustering: log-volatility is the sum of a fast (hours) and a slow (days) AR(1) process,
  plus a UTC time-of-day pattern (busier when Europe and the US overlap);
- fat tails: innovations are Student-t (4 degrees of freedom, unit variance);
- trends and ranges: the series is cut into regimes (mean length ~2 days); a trend regime has a drift,
  a range regime mean-reverts (an Ornstein-Uhlenbeck process) around the level where it began;
- consistent bars: open = previous close, close = open·e^r, and high/low are drawn from the exact law of
  a Brownian bridge's maximum/minimum over the minute, so low <= open, close <= high always;
- volume follows the time of day, the volatility level and the size of the move.

Everything it makes is labelled synthetic: it is stored under exchange "synthetic", and charts say so.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from marketdata.series import SYNTHETIC_EXCHANGE, Candles
from marketdata.timeframes import MINUTE_MS

MINUTES_PER_YEAR = 525_960
DEFAULT_SEED = 20240101


@dataclass(frozen=True)
class SymbolProfile:
    symbol: str
    start_price: float
    annual_volatility: float
    tick: float
    volume_per_minute: float  # base units, on average


PROFILES: dict[str, SymbolProfile] = {
    profile.symbol: profile
    for profile in (
        SymbolProfile("BTC/USDT", 60_000.0, 0.55, 0.01, 12.0),
        SymbolProfile("ETH/USDT", 3_000.0, 0.70, 0.01, 150.0),
        SymbolProfile("SOL/USDT", 150.0, 0.95, 0.001, 2_500.0),
        SymbolProfile("BNB/USDT", 550.0, 0.60, 0.01, 250.0),
        SymbolProfile("XRP/USDT", 0.55, 0.85, 0.0001, 400_000.0),
    )
}
SYMBOLS: tuple[str, ...] = tuple(PROFILES)

_T_DOF = 4.0


def _profile(symbol: str) -> SymbolProfile:
    if symbol in PROFILES:
        return PROFILES[symbol]
    # Any other symbol gets a mid-cap profile; the seed still depends on its name.
    return SymbolProfile(symbol, 100.0, 0.8, 0.001, 1_000.0)


def _ar1(noise: np.ndarray, half_life: float, std: float) -> np.ndarray:
    """Stationary AR(1) with the given half-life (in steps) and standard deviation, vectorised.

    pandas' ewm with adjust=False is exactly y_t = (1-a)·y_{t-1} + a·x_t.
    """
    alpha = 1.0 - 0.5 ** (1.0 / half_life)
    noise = noise.copy()
    # ewm starts at y_0 = x_0: scale the first draw so that the process starts in its stationary law.
    noise[0] *= np.sqrt(alpha / (2.0 - alpha))
    y = pd.Series(noise).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return y * std * np.sqrt((2.0 - alpha) / alpha)


def _time_of_day(ts: np.ndarray) -> np.ndarray:
    """Relative activity by UTC hour: quiet in the Asian night, busiest 13:00-17:00 UTC."""
    hour = (ts // 3_600_000) % 24 + ((ts // MINUTE_MS) % 60) / 60.0
    return 1.0 + 0.25 * np.cos((hour - 15.0) / 24.0 * 2 * np.pi)


def _regime_log_path(rng: np.random.Generator, shocks: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Cumulative log-price from per-minute shocks, cut into trend and range regimes."""
    n = len(shocks)
    path = np.empty(n)
    level = 0.0
    begin = 0
    while begin < n:
        length = int(min(n - begin, max(60, rng.geometric(1 / 2880))))
        seg = slice(begin, begin + length)
        if rng.random() < 0.55:
            # Trend: a drift worth a percent or two per day, either way, leaning back towards the
            # starting level so that a long series wanders like a market, not to zero or infinity.
            drift = rng.normal(0.0, 0.015) * float(np.mean(sigma[seg])) - 0.25 * level / length
            path[seg] = level + np.cumsum(shocks[seg] + drift)
        else:
            # Range: an Ornstein-Uhlenbeck deviation around the level (half-life of several hours).
            kappa = 1.0 - 0.5 ** (1.0 / rng.uniform(120, 720))
            # x_t = (1-k)·x_{t-1} + e_t, starting from x_0 = e_0 (ewm starts at y_0 = x_0, hence the k·e_0).
            seeded = shocks[seg].copy()
            seeded[0] *= kappa
            deviation = pd.Series(seeded).ewm(alpha=kappa, adjust=False).mean().to_numpy() / kappa
            path[seg] = level + deviation
        level = float(path[begin + length - 1])
        begin += length
    return path


def generate_candles(
    symbol: str = "BTC/USDT", *, start_ms: int, count: int, seed: int = DEFAULT_SEED,
) -> Candles:
    """`count` synthetic 1-minute candles for `symbol` starting at `start_ms` (floored to the minute).

    Deterministic for (symbol, count, seed): the same call gives the same candles everywhere.
    """
    profile = _profile(symbol)
    start_ms -= start_ms % MINUTE_MS
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
    ts = start_ms + MINUTE_MS * np.arange(count, dtype=np.int64)

    base_sigma = profile.annual_volatility / np.sqrt(MINUTES_PER_YEAR)
    log_vol = _ar1(rng.standard_normal(count), half_life=90, std=0.35) + _ar1(
        rng.standard_normal(count), half_life=3 * 1440, std=0.35
    )
    # exp(log_vol - var/2) keeps the average variance at base_sigma².
    sigma = base_sigma * np.exp(log_vol - 0.5 * 0.35**2) * _time_of_day(ts)
    t = rng.standard_t(_T_DOF, count) / np.sqrt(_T_DOF / (_T_DOF - 2.0))
    shocks = sigma * t
    log_close = np.log(profile.start_price) + _regime_log_path(rng, shocks, sigma)

    close = np.exp(log_close)
    open_ = np.empty(count)
    open_[0] = profile.start_price
    open_[1:] = close[:-1]
    r = log_close - np.log(open_)
    # Exact law of a Brownian bridge's max/min over the minute, given its end point r and variance σ².
    var = sigma**2
    up = 0.5 * (r + np.sqrt(r * r - 2.0 * var * np.log(rng.random(count))))
    down = 0.5 * (r - np.sqrt(r * r - 2.0 * var * np.log(rng.random(count))))
    high = open_ * np.exp(up)
    low = open_ * np.exp(down)

    tick = profile.tick
    open_ = np.maximum(np.round(open_ / tick) * tick, tick)
    close = np.maximum(np.round(close / tick) * tick, tick)
    high = np.maximum(np.round(high / tick) * tick, np.maximum(open_, close))
    low = np.maximum(np.minimum(np.round(low / tick) * tick, np.minimum(open_, close)), tick)
    open_[1:] = close[:-1]  # rounding must not open a gap between minutes
    high = np.maximum(high, open_)
    low = np.minimum(low, open_)
    # k × tick in binary floating point can land one ulp off the decimal price (150.39000000000001):
    # snap to the tick's decimals so the prices are the ones an exchange would print.
    places = max(0, -int(np.floor(np.log10(tick))))
    open_, high, low, close = (np.round(column, places) for column in (open_, high, low, close))

    activity = _time_of_day(ts) ** 2 * (sigma / base_sigma) * (1.0 + np.abs(r) / sigma)
    volume = profile.volume_per_minute * activity / np.mean(activity) * rng.lognormal(-0.125, 0.5, count)
    volume = np.round(volume, 6)

    return Candles.from_arrays(
        ts, open_, high, low, close, volume, timeframe="1m", symbol=symbol, exchange=SYNTHETIC_EXCHANGE,
        synthetic=True,
    )
