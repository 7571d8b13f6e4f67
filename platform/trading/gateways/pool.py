"""Live gateway pool: one ccxt client per exchange account, reused (HTTP keep-alive), closed properly.

A pool belongs to one event loop (ccxt's aiohttp session is bound to the loop that opened it):

    async with LiveGatewayPool() as pool:                 # a Celery task, a script
        gateway = await pool.gateway(exchange_setting)

    pool = gateway_pool()                                 # a long-lived loop (bot runtime): per-loop singleton
    ...
    await close_gateway_pool()                            # at shutdown

Clients are keyed by (exchange_setting id, key_version, rate limiter): a replaced key gets a new
client and the old one is closed. Keys are decrypted in memory only when a client is created and live
only inside that client. Markets are loaded once per exchange and shared by every client of it.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings

from trading.gateways.live import LiveGateway, ccxt_client_create
from trading.gateways.ratelimit import BurstLimits, BurstRateLimiter

RateLimiterChoice = Literal["ccxt", "burst"]
MARKETS_TTL_SECONDS = 3600


@dataclass
class _Entry:
    gateway: LiveGateway
    exchange_setting_id: int | None
    last_used: float = field(default_factory=time.monotonic)


class LiveGatewayPool:
    def __init__(self, *, api_base: str | None = None, burst_limits: BurstLimits | None = None,
                 timeout_ms: int = 10_000):
        self.api_base = api_base if api_base is not None else (settings.EXCHANGE_API_BASE or None)
        self.burst_limits = burst_limits
        self.timeout_ms = timeout_ms
        self._entries: dict[tuple[Any, ...], _Entry] = {}
        self._markets: dict[str, tuple[float, dict[str, Any], dict[str, Any] | None]] = {}
        self._lock = asyncio.Lock()
        self.clients_created = 0

    async def __aenter__(self) -> LiveGatewayPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ public API
    async def gateway(self, exchange_setting: Any, *, rate_limiter: RateLimiterChoice = "ccxt") -> LiveGateway:
        """The pooled gateway for an `exchanges.ExchangeSetting` row (already loaded by the caller)."""
        key = ("account", exchange_setting.pk, getattr(exchange_setting, "key_version", 1), rate_limiter)
        entry = self._entries.get(key)
        if entry is None:
            async with self._lock:
                entry = self._entries.get(key)
                if entry is None:
                    from exchanges.services import exchange_credentials_get

                    await self._discard_stale_versions(exchange_setting.pk, key)
                    credentials = exchange_credentials_get(exchange_setting=exchange_setting)
                    gateway = await self._create(credentials.exchange, credentials.api_key,
                                                 credentials.api_secret, rate_limiter)
                    gateway.exchange_setting_id = exchange_setting.pk
                    entry = self._entries[key] = _Entry(gateway, exchange_setting.pk)
        entry.last_used = time.monotonic()
        return entry.gateway

    async def gateway_for_credentials(self, credentials: Any, *,
                                      rate_limiter: RateLimiterChoice = "ccxt") -> LiveGateway:
        """A gateway for credentials that are not saved (yet): key validation before saving. Not pooled
        beyond this pool's life; the caller's `async with` closes it."""
        key = ("unsaved", credentials.exchange, credentials.fingerprint, rate_limiter)
        entry = self._entries.get(key)
        if entry is None:
            gateway = await self._create(credentials.exchange, credentials.api_key, credentials.api_secret,
                                         rate_limiter)
            entry = self._entries[key] = _Entry(gateway, None)
        return entry.gateway

    async def public(self, exchange_id: str) -> LiveGateway:
        """A key-less gateway for public market data of `exchange_id`."""
        key = ("public", exchange_id)
        entry = self._entries.get(key)
        if entry is None:
            gateway = await self._create(exchange_id, "", "", "ccxt")
            entry = self._entries[key] = _Entry(gateway, None)
        return entry.gateway

    async def discard(self, exchange_setting_id: int) -> int:
        """Close every client of an exchange setting (key deleted or replaced). Returns how many."""
        keys = [k for k, e in self._entries.items() if e.exchange_setting_id == exchange_setting_id]
        for k in keys:
            await self._entries.pop(k).gateway.client.close()
        return len(keys)

    async def close_idle(self, idle_seconds: float = 600) -> int:
        now = time.monotonic()
        keys = [k for k, e in self._entries.items() if now - e.last_used > idle_seconds]
        for k in keys:
            await self._entries.pop(k).gateway.client.close()
        return len(keys)

    async def close(self) -> None:
        entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            await entry.gateway.client.close()

    def __len__(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------------ internals
    async def _discard_stale_versions(self, exchange_setting_id: int, current: tuple[Any, ...]) -> None:
        stale = [k for k, e in self._entries.items()
                 if e.exchange_setting_id == exchange_setting_id and k[2] != current[2]]
        for k in stale:
            await self._entries.pop(k).gateway.client.close()

    async def _create(self, exchange_id: str, api_key: str, secret: str,
                      rate_limiter: RateLimiterChoice) -> LiveGateway:
        limiter = BurstRateLimiter(exchange_id, self.burst_limits) if rate_limiter == "burst" else None
        client = ccxt_client_create(exchange_id, api_key=api_key, secret=secret, api_base=self.api_base,
                                    limiter=limiter, timeout_ms=self.timeout_ms)
        self.clients_created += 1
        gateway = LiveGateway(exchange_id=exchange_id, client=client, limiter=limiter)
        cached = self._markets.get(exchange_id)
        if cached and time.monotonic() - cached[0] < MARKETS_TTL_SECONDS:
            client.set_markets(cached[1], cached[2])
        else:
            try:
                await gateway.load_markets()
            except Exception:
                await client.close()
                raise
            self._markets[exchange_id] = (time.monotonic(), client.markets, client.currencies)
        return gateway


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LiveGatewayPool] = weakref.WeakKeyDictionary()


def gateway_pool() -> LiveGatewayPool:
    """The pool of the running event loop (created on first use). Close it with `close_gateway_pool()`."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = LiveGatewayPool()
    return pool


async def close_gateway_pool() -> None:
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()
