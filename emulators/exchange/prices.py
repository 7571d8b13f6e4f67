"""Replayed price series: a seeded random walk per symbol (or candles you load), on one market clock.

Bar `k` opens at `origin_ms + k * interval_ms`. The *cursor* is the index of the forming bar. In
`manual` mode the cursor moves only on `advance()`; the forming bar has just opened, so the current
price is its open. In `realtime` mode the cursor follows the wall clock (times `speed`) and the current
price moves linearly from the bar's open towards its close.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from emulators.exchange.markets import Instrument

INTERVALS_MS = {
    "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000,
    "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000,
}
_CHUNK = 2048


@dataclass(frozen=True)
class Bar:
    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def quantize(value: float | Decimal, step: Decimal) -> Decimal:
    return (Decimal(str(value)) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


class SymbolPath:
    """The raw (unscaled) bars of one symbol: loaded candles first, then a seeded random walk."""

    def __init__(self, instrument: Instrument, seed: int):
        self.instrument = instrument
        self._rng = np.random.default_rng([seed, zlib.crc32(instrument.symbol.encode())])
        self._bars: list[tuple[float, float, float, float, float]] = []  # o, h, l, c, v
        self._last_close = float(instrument.start_price)

    def load(self, candles: list[list[float]]) -> None:
        self._bars = [(float(c[1]), float(c[2]), float(c[3]), float(c[4]), float(c[5])) for c in candles]
        self._last_close = self._bars[-1][3] if self._bars else float(self.instrument.start_price)

    def get(self, index: int) -> tuple[float, float, float, float, float]:
        while index >= len(self._bars):
            self._extend()
        return self._bars[index]

    def _extend(self) -> None:
        vol = self.instrument.volatility
        draws = self._rng.standard_normal((_CHUNK, 3))
        volumes = self._rng.lognormal(mean=3.0, sigma=0.6, size=_CHUNK)
        close = self._last_close
        for row, volume in zip(draws, volumes, strict=True):
            open_ = close
            close = open_ * float(np.exp(row[0] * vol))
            high = max(open_, close) * float(np.exp(abs(row[1]) * vol * 0.5))
            low = min(open_, close) * float(np.exp(-abs(row[2]) * vol * 0.5))
            self._bars.append((open_, high, low, close, float(volume)))
        self._last_close = close


class MarketClock:
    """Which bar is forming now, for every symbol at once."""

    def __init__(self, *, interval_ms: int = 60_000, history_bars: int = 1500, mode: str = "manual",
                 speed: float = 1.0, origin_ms: int | None = None):
        now_ms = int(time.time() * 1000)
        self.interval_ms = interval_ms
        self.mode = mode
        self.speed = speed
        self.origin_ms = origin_ms if origin_ms is not None else (now_ms // interval_ms - history_bars) * interval_ms
        self._base_cursor = history_bars if origin_ms is None else 0
        self._started_ns = time.monotonic_ns()

    def reset_to(self, *, origin_ms: int, interval_ms: int, cursor: int) -> None:
        self.origin_ms = origin_ms
        self.interval_ms = interval_ms
        self._base_cursor = cursor
        self._started_ns = time.monotonic_ns()

    def _elapsed_bars(self) -> float:
        if self.mode != "realtime":
            return 0.0
        elapsed_ms = (time.monotonic_ns() - self._started_ns) / 1e6 * self.speed
        return elapsed_ms / self.interval_ms

    @property
    def cursor(self) -> int:
        return self._base_cursor + int(self._elapsed_bars())

    @property
    def fraction(self) -> float:
        """How far the forming bar has progressed (always 0 in manual mode)."""
        elapsed = self._elapsed_bars()
        return elapsed - int(elapsed)

    def advance(self, bars: int) -> None:
        self._base_cursor += bars

    def market_time_ms(self) -> int:
        return self.origin_ms + int((self.cursor + self.fraction) * self.interval_ms)


class PriceFeed:
    """Bars and the current price for every instrument; `set_price` rescales the path from now on."""

    def __init__(self, instruments: dict[str, Instrument], *, seed: int, clock: MarketClock):
        self.instruments = instruments
        self.seed = seed
        self.clock = clock
        self._paths = {symbol: SymbolPath(instrument, seed) for symbol, instrument in instruments.items()}
        # symbol -> [(from_index, factor)], applied cumulatively to bars at or after from_index
        self._scales: dict[str, list[tuple[int, float]]] = {symbol: [] for symbol in instruments}
        self._versions: dict[str, int] = {}

    def _scale(self, symbol: str, index: int) -> float:
        factor = 1.0
        for from_index, f in self._scales[symbol]:
            if index >= from_index:
                factor *= f
        return factor

    def version(self, symbol: str) -> int:
        """Changes whenever the symbol's bars change (set_price rescales from then on, load_candles)."""
        return self._versions.get(symbol, 0)

    def bar(self, symbol: str, index: int) -> Bar:
        o, h, low, c, v = self._paths[symbol].get(index)
        s = self._scale(symbol, index)
        return Bar(self.clock.origin_ms + index * self.clock.interval_ms, o * s, h * s, low * s, c * s, v)

    def forming_bar(self, symbol: str) -> Bar:
        """The current bar as seen so far (realtime mode interpolates towards its close)."""
        full = self.bar(symbol, self.clock.cursor)
        f = self.clock.fraction
        if f == 0:
            return Bar(full.open_ms, full.open, full.open, full.open, full.open, 0.0)
        price = full.open + (full.close - full.open) * f
        return Bar(full.open_ms, full.open, max(full.open, price), min(full.open, price), price, full.volume * f)

    def price(self, symbol: str) -> Decimal:
        instrument = self.instruments[symbol]
        return quantize(self.forming_bar(symbol).close, instrument.tick_size)

    def set_price(self, symbol: str, price: Decimal) -> None:
        current = self.forming_bar(symbol).close
        self._scales[symbol].append((self.clock.cursor, float(price) / current))
        self._versions[symbol] = self.version(symbol) + 1

    def load_candles(self, symbol: str, candles: list[list[float]], *, start_index: int = 0) -> None:
        """Replay `candles` ([open_ms, o, h, l, c, v], oldest first); the clock restarts at `start_index`."""
        if not candles:
            raise ValueError("no candles")
        interval = int(candles[1][0] - candles[0][0]) if len(candles) > 1 else self.clock.interval_ms
        self._paths[symbol].load(candles)
        self._scales[symbol] = []
        self._versions[symbol] = self.version(symbol) + 1
        self.clock.reset_to(origin_ms=int(candles[0][0]), interval_ms=interval, cursor=start_index)

    def klines(self, symbol: str, interval: str, *, start_ms: int | None, end_ms: int | None,
               limit: int) -> list[Bar]:
        """Completed bars plus the forming one, aggregated to `interval`, like GET /fapi/v1/klines."""
        width = max(INTERVALS_MS[interval], self.clock.interval_ms)
        base = self.clock.interval_ms
        origin = self.clock.origin_ms
        cursor = self.clock.cursor
        last_bin = ((origin + cursor * base) // width) * width
        if end_ms is not None:
            last_bin = min(last_bin, (end_ms // width) * width)
        # With start_ms: the first bin opening at or after it; else the last `limit` bins.
        first_bin = -(-start_ms // width) * width if start_ms is not None else last_bin - (limit - 1) * width
        first_bin = max(first_bin, (origin // width) * width)
        result: list[Bar] = []
        bin_open = first_bin
        while bin_open <= last_bin and len(result) < limit:
            lo = max(0, (bin_open - origin) // base)
            hi = min(cursor, (bin_open + width - origin) // base - 1)
            bars = [self.forming_bar(symbol) if i == cursor else self.bar(symbol, i) for i in range(lo, hi + 1)]
            if bars:
                result.append(Bar(bin_open, bars[0].open, max(b.high for b in bars), min(b.low for b in bars),
                                  bars[-1].close, sum(b.volume for b in bars)))
            bin_open += width
        return result
