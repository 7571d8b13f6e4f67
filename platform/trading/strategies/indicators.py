"""Indicators twice: vectorised over a whole series (pandas/numpy) and streaming, one value at a time
from a small JSON-safe state. Both compute the same textbook definitions; tests check they agree.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


# -- vectorised ---------------------------------------------------------------------------------------
def sma(values: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average; NaN for the first period-1 bars."""
    return pd.Series(values).rolling(period, min_periods=period).mean().to_numpy()


def rolling_std(values: np.ndarray, period: int) -> np.ndarray:
    """Population standard deviation over the last `period` bars (Bollinger's definition)."""
    return pd.Series(values).rolling(period, min_periods=period).std(ddof=0).to_numpy()


def rsi(close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI: the first average is the mean of the first `period` changes, then Wilder smoothing
    (alpha = 1/period). NaN until `period` changes exist. Flat prices give 50."""
    n = len(close)
    out = np.full(n, np.nan)
    if n <= period:
        return out
    delta = np.diff(close)
    gain = np.clip(delta, 0, None)
    loss = np.clip(-delta, 0, None)
    # ewm(adjust=False) starting from the seed is exactly Wilder's recursion.
    avg_gain = pd.Series(np.concatenate(([gain[:period].mean()], gain[period:]))).ewm(
        alpha=1 / period, adjust=False).mean().to_numpy()
    avg_loss = pd.Series(np.concatenate(([loss[:period].mean()], loss[period:]))).ewm(
        alpha=1 / period, adjust=False).mean().to_numpy()
    out[period:] = _rsi_from(avg_gain, avg_loss)
    return out


def _rsi_from(avg_gain: Any, avg_loss: Any) -> Any:
    gain = np.asarray(avg_gain, dtype=float)
    loss = np.asarray(avg_loss, dtype=float)
    total = gain + loss
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(total > 0, 100.0 * gain / np.where(total > 0, total, 1.0), 50.0)
    return value


# -- streaming ----------------------------------------------------------------------------------------
def window_push(window: list[float], value: float, size: int) -> list[float]:
    window = [*window, value]
    return window[-size:]


def window_mean(window: list[float], period: int) -> float | None:
    if len(window) < period:
        return None
    return math.fsum(window[-period:]) / period


def window_std(window: list[float], period: int) -> float | None:
    if len(window) < period:
        return None
    values = window[-period:]
    mean = math.fsum(values) / period
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / period)


def rsi_update(state: dict[str, Any] | None, close: float, period: int) -> tuple[dict[str, Any], float | None]:
    """Wilder's RSI one close at a time. The state holds the previous close and either the first changes
    (until `period` of them exist) or the two running averages."""
    state = dict(state) if state else {"prev": None, "gains": [], "losses": [], "avg_gain": None, "avg_loss": None}
    prev = state["prev"]
    state["prev"] = close
    if prev is None:
        return state, None
    change = close - prev
    gain, loss = max(change, 0.0), max(-change, 0.0)
    if state["avg_gain"] is None:
        state["gains"] = [*state["gains"], gain]
        state["losses"] = [*state["losses"], loss]
        if len(state["gains"]) < period:
            return state, None
        state["avg_gain"] = math.fsum(state["gains"]) / period
        state["avg_loss"] = math.fsum(state["losses"]) / period
        state["gains"], state["losses"] = [], []
    else:
        alpha = 1.0 / period
        state["avg_gain"] = (1 - alpha) * state["avg_gain"] + alpha * gain
        state["avg_loss"] = (1 - alpha) * state["avg_loss"] + alpha * loss
    return state, float(_rsi_from(state["avg_gain"], state["avg_loss"]))
