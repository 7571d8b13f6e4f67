"""Our own rate limiter for live ccxt clients: the exchange's real sliding windows, bursts allowed.

ccxt's built-in limiter (`enableRateLimit`) is a leaky bucket that spaces *every* request by
`rateLimit × cost`; for a Binance futures order that is ~200 ms, so two "simultaneous" orders leave
200 ms apart. That is harmless for candle bots and is what ordinary clients keep. A client created with
`rate_limiter="burst"` replaces ccxt's `throttle` hook with `BurstRateLimiter`, which only waits when
one of the exchange's published windows is actually full:

- request weight per IP (shared by every client of this process): 1200 / minute by default,
- orders per account: 300 / 10 s and 1200 / minute.

Within those limits requests leave at once (the acquire path never sleeps), so two orders can reach
the exchange well under a millisecond apart.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass


class SlidingWindow:
    """At most `limit` units of cost within any `window` seconds."""

    def __init__(self, limit: float, window: float):
        self.limit = limit
        self.window = window
        self._events: deque[tuple[float, float]] = deque()
        self._used = 0.0

    def _purge(self, now: float) -> None:
        while self._events and now - self._events[0][0] >= self.window:
            _, cost = self._events.popleft()
            self._used -= cost

    def try_acquire(self, cost: float, now: float | None = None) -> float:
        """Take `cost` and return 0, or return how many seconds to wait before it would fit."""
        now = time.monotonic() if now is None else now
        self._purge(now)
        if self._used + cost <= self.limit or not self._events:
            self._events.append((now, cost))
            self._used += cost
            return 0.0
        # Wait until enough of the oldest events leave the window.
        needed = self._used + cost - self.limit
        freed = 0.0
        for stamp, event_cost in self._events:
            freed += event_cost
            if freed >= needed:
                return max(0.0, stamp + self.window - now)
        return self.window

    @property
    def used(self) -> float:
        self._purge(time.monotonic())
        return self._used


@dataclass(frozen=True)
class BurstLimits:
    weight_per_minute: int = 1200
    orders_per_10s: int = 300
    orders_per_minute: int = 1200


class BurstRateLimiter:
    """Sliding-window limiter for one exchange account; the weight window is shared per process (IP)."""

    _ip_weight_windows: dict[str, SlidingWindow] = {}

    def __init__(self, exchange_id: str, limits: BurstLimits | None = None):
        self.limits = limits or BurstLimits()
        self.weight = self._ip_weight_windows.setdefault(exchange_id, SlidingWindow(self.limits.weight_per_minute, 60))
        self.orders = [SlidingWindow(self.limits.orders_per_10s, 10), SlidingWindow(self.limits.orders_per_minute, 60)]

    @staticmethod
    async def _acquire(windows: list[SlidingWindow], cost: float) -> None:
        while True:
            waits = [w.try_acquire(cost) for w in windows]
            if not any(waits):
                return
            # Give back what was taken from windows that had room, then wait for the slowest one.
            for window, wait in zip(windows, waits, strict=True):
                if not wait:
                    window._events.pop()
                    window._used -= cost
            await asyncio.sleep(max(waits))

    async def throttle(self, cost: float | None = None) -> None:
        """Installed as the ccxt client's `throttle`: ccxt's per-endpoint cost approximates Binance weight."""
        await self._acquire([self.weight], float(cost or 1))

    async def order_slot(self) -> None:
        """Called before each order create/cancel: the account's order-count windows."""
        await self._acquire(self.orders, 1.0)
