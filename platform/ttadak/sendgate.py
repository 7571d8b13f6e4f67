"""Sign both legs while the intents commit; let them leave together once the commit is done.

The press must persist its intents before anything leaves the process. Building and signing a ccxt
order request is pure CPU (parameters, precision, HMAC) that does not need the commit — so both legs are
started *before* it and parked at a gate just before their HTTP requests are written (inside the ccxt
client's `fetch`, after `sign`). The commit runs on the database thread meanwhile; when it succeeds the
gate opens and both signed requests are written one right after the other (the legs leave a fraction of
a millisecond apart, not one request-build apart). When it fails the parked legs are cancelled: no byte
was written.

The gate is a ContextVar, so only requests made inside one press are held; everything else on the same
pooled client passes straight through.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

_current: ContextVar[SendGate | None] = ContextVar("ttadak_send_gate", default=None)


class SendGate:
    def __init__(self) -> None:
        self._decided = asyncio.Event()
        self.committed: bool | None = None

    def open(self) -> None:
        self.committed = True
        self._decided.set()

    def shut(self) -> None:
        self.committed = False
        self._decided.set()

    async def passage(self) -> None:
        """Wait for the commit; raise CancelledError when it failed (the request must not leave)."""
        await self._decided.wait()
        if not self.committed:
            raise asyncio.CancelledError("the intents were not committed")


def install(client: Any) -> None:
    """Route the ccxt client's `fetch` through the gate of the current press (idempotent)."""
    if getattr(client, "_ttadak_send_gate", False):
        return
    original = client.fetch

    async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        gate = _current.get()
        if gate is not None:
            await gate.passage()
        return await original(url, method, headers, body)

    client.fetch = fetch
    client._ttadak_send_gate = True


class GatedGateway:
    """The session's gateway for one press: order requests wait at the press's gate.

    An error before the gate (a request that could not even be built) is only reported once the
    commit has been decided, so the order layer never records an outcome for a row not yet written.
    """

    def __init__(self, inner: Any, gate: SendGate):
        self.inner = inner
        self.gate = gate

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def create_order(self, request: Any) -> Any:
        if not getattr(self.inner, "client", None):
            # Not a ccxt client (the paper account): nothing to sign ahead, and its state must not move
            # before the commit.
            await self.gate.passage()
        try:
            return await self.inner.create_order(request)
        except asyncio.CancelledError:
            raise
        except Exception:
            await self.gate.passage()
            raise


def start_legs(legs: list[Any], make: Any, gate: SendGate) -> list[asyncio.Task]:
    """Start one task per leg (`make(leg)` → coroutine) with the gate in their context."""
    token = _current.set(gate)
    try:
        return [asyncio.get_running_loop().create_task(make(leg)) for leg in legs]
    finally:
        _current.reset(token)
