"""Small hand-made candle series and signals for engine tests."""

from __future__ import annotations

import numpy as np

from marketdata.series import Candles
from trading.strategies.base import Signals

NAN = float("nan")
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def bars(rows: list[tuple[float, float, float, float]], timeframe: str = "1h") -> Candles:
    """rows of (open, high, low, close); one bar per hour from 2024-01-01."""
    data = np.array(rows, dtype=float)
    step = {"1m": 60_000, "1h": 3_600_000}[timeframe]
    ts = T0 + step * np.arange(len(rows), dtype=np.int64)
    return Candles.from_arrays(ts, data[:, 0], data[:, 1], data[:, 2], data[:, 3], np.ones(len(rows)),
                               timeframe=timeframe, symbol="BTC/USDT", exchange="test")


def flat(price: float) -> tuple[float, float, float, float]:
    return (price, price, price, price)


def signals(targets: list[float], stop_loss: list[float] | None = None,
            take_profit: list[float] | None = None) -> Signals:
    def column(values: list[float] | None) -> np.ndarray | None:
        return None if values is None else np.array(values, dtype=float)

    return Signals(target=np.array(targets, dtype=float), stop_loss=column(stop_loss),
                   take_profit=column(take_profit))
