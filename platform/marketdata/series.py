"""Candles in memory: one numpy array per column (no Django needed).

The simulator, the resampler, the generator and the CSV reader all speak `Candles`. Prices are float64
here because indicators and the vectorised engine need them; the candle store keeps Decimal.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from core.errors import ValidationError
from marketdata.timeframes import TIMEFRAME_MS, timeframe_from_ms, timeframe_ms

CSV_HEADER = ("timestamp", "open", "high", "low", "close", "volume")
SYNTHETIC_EXCHANGE = "synthetic"


@dataclass(frozen=True)
class Candles:
    """OHLCV bars, oldest first. `ts` is each bar's open time in epoch milliseconds (UTC)."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    timeframe: str = "1m"
    symbol: str = ""
    exchange: str = ""
    synthetic: bool = field(default=False)

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name} has {len(getattr(self, name))} rows, ts has {n}")

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def timeframe_ms(self) -> int:
        return TIMEFRAME_MS[self.timeframe]

    def slice(self, start: int, stop: int | None = None) -> Candles:
        cut = slice(start, stop)
        return replace(
            self,
            ts=self.ts[cut], open=self.open[cut], high=self.high[cut], low=self.low[cut],
            close=self.close[cut], volume=self.volume[cut],
        )

    def between(self, start_ms: int | None, end_ms: int | None) -> Candles:
        """Bars whose open time is in [start_ms, end_ms)."""
        lo = 0 if start_ms is None else int(np.searchsorted(self.ts, start_ms, side="left"))
        hi = len(self) if end_ms is None else int(np.searchsorted(self.ts, end_ms, side="left"))
        return self.slice(lo, hi)

    @classmethod
    def from_arrays(
        cls, ts, open_, high, low, close, volume, *, timeframe: str, symbol: str = "", exchange: str = "",
        synthetic: bool | None = None,
    ) -> Candles:
        return cls(
            ts=np.ascontiguousarray(ts, dtype=np.int64),
            open=np.ascontiguousarray(open_, dtype=np.float64),
            high=np.ascontiguousarray(high, dtype=np.float64),
            low=np.ascontiguousarray(low, dtype=np.float64),
            close=np.ascontiguousarray(close, dtype=np.float64),
            volume=np.ascontiguousarray(volume, dtype=np.float64),
            timeframe=timeframe,
            symbol=symbol,
            exchange=exchange,
            synthetic=exchange == SYNTHETIC_EXCHANGE if synthetic is None else synthetic,
        )

    def check(self) -> None:
        """Raise ValidationError when bars are unordered or OHLC is inconsistent."""
        if len(self) and np.any(np.diff(self.ts) <= 0):
            raise ValidationError("candle timestamps must be strictly increasing", field="timestamp")
        if np.any(self.ts % self.timeframe_ms):
            raise ValidationError(
                f"candle open times must be aligned to {self.timeframe} bars (UTC)", field="timestamp"
            )
        columns = np.vstack([self.open, self.high, self.low, self.close])
        if not np.all(np.isfinite(columns)) or np.any(columns <= 0):
            raise ValidationError("candle prices must be positive numbers", field="price")
        body_high, body_low = np.maximum(self.open, self.close), np.minimum(self.open, self.close)
        if np.any(self.high < body_high) or np.any(self.low > body_low):
            raise ValidationError("each candle needs low <= open, close <= high", field="price")
        if np.any(self.volume < 0):
            raise ValidationError("candle volume cannot be negative", field="volume")


def infer_timeframe(ts: np.ndarray) -> str:
    """The timeframe of a series: its smallest step between bars (gaps are allowed)."""
    if len(ts) < 2:
        raise ValidationError("need at least two candles to infer the timeframe; pass --timeframe", field="timeframe")
    step = int(np.min(np.diff(ts)))
    name = timeframe_from_ms(step)
    if name is None:
        raise ValidationError(f"candles are {step} ms apart, which is not a known timeframe", field="timeframe")
    return name


def candles_read_csv(
    source: str | Path | io.TextIOBase, *, timeframe: str | None = None, symbol: str = "", exchange: str = "csv",
) -> Candles:
    """Read `timestamp,open,high,low,close,volume` (timestamp = bar open, epoch ms UTC)."""
    handle = open(source, newline="") if isinstance(source, str | Path) else source  # noqa: SIM115
    try:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValidationError("the CSV file is empty", field="csv")
        if tuple(cell.strip().lower() for cell in header) != CSV_HEADER:
            raise ValidationError(
                f"the CSV header must be {','.join(CSV_HEADER)} (got {','.join(header)})", field="csv"
            )
        rows = []
        for line_no, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 6:
                raise ValidationError(f"line {line_no}: expected 6 columns, got {len(row)}", field="csv")
            try:
                rows.append((int(float(row[0])), *(float(cell) for cell in row[1:])))
            except ValueError:
                raise ValidationError(f"line {line_no}: not a number in {row!r}", field="csv") from None
    finally:
        if handle is not source:
            handle.close()
    if not rows:
        raise ValidationError("the CSV file has no candles", field="csv")
    data = np.array(rows, dtype=np.float64)
    order = np.argsort(data[:, 0], kind="stable")
    data = data[order]
    ts = data[:, 0].astype(np.int64)
    if np.any(np.diff(ts) == 0):
        raise ValidationError("the CSV file has two candles with the same timestamp", field="csv")
    tf = timeframe or infer_timeframe(ts)
    timeframe_ms(tf)
    candles = Candles.from_arrays(
        ts, data[:, 1], data[:, 2], data[:, 3], data[:, 4], data[:, 5], timeframe=tf, symbol=symbol, exchange=exchange
    )
    candles.check()
    return candles


def candles_write_csv(candles: Candles, target: str | Path | io.TextIOBase) -> None:
    handle = open(target, "w", newline="") if isinstance(target, str | Path) else target  # noqa: SIM115
    try:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for row in zip(
            candles.ts.tolist(), candles.open.tolist(), candles.high.tolist(), candles.low.tolist(),
            candles.close.tolist(), candles.volume.tolist(), strict=True,
        ):
            writer.writerow([row[0], *(repr(value) for value in row[1:])])
    finally:
        if handle is not target:
            handle.close()
