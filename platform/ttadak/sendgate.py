"""Sign both legs before the intents commit; let them leave together once the commit is done.

The press must persist its intents before anything leaves the process. Building and signing a ccxt
order request is pure CPU (parameters, precision, HMAC) that does not need the commit — so both legs are
started *first* and parked just before their HTTP write (inside the ccxt client's `fetch`, after `sign`).
When both are parked the intents commit (the database thread then has the interpreter to itself); when
the commit succeeds the gate opens and both requests are written. When it fails the parked legs are
cancelled: no byte was written.

With warm wire connections (`trading.gateways.wire`, primed when the bot is warmed) a parked leg is
already bytes on an idle keep-alive connection, and opening the gate writes both byte strings one
right after the other — microseconds apart, with no HTTP client code between the commit and the
writes. The answers are read back through ccxt's own response handling. Without an idle wire
connection (not primed yet, a proxy, all in use) a leg goes through ccxt's aiohttp `fetch` as usual.

The gate is a ContextVar, so only requests made inside one press are held; everything else on the same
pooled client passes straight through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextvars import ContextVar
from typing import Any

from trading.gateways import wire as wire_module

logger = logging.getLogger(__name__)
_current: ContextVar[SendGate | None] = ContextVar("ttadak_send_gate", default=None)


class _Enlisted:
    """A leg's request, encoded, waiting on its own idle connection for the gate."""

    __slots__ = ("connection", "payload", "written")

    def __init__(self, connection: wire_module.WireConnection, payload: bytes):
        self.connection = connection
        self.payload = payload
        self.written = False

    def write(self) -> None:
        self.written = True
        self.connection.write(self.payload)


class SendGate:
    def __init__(self) -> None:
        self._decided = asyncio.Event()
        self._all_parked = asyncio.Event()
        self.committed: bool | None = None
        self.written_ns = 0  # perf_counter_ns once the enlisted requests are written (the gate opened)
        self.expected = 0
        self.arrived = 0
        self._enlisted: list[_Enlisted] = []

    def open(self) -> None:
        """The intents are committed: write every enlisted request now, then let the legs go on."""
        self.committed = True
        for enlisted in self._enlisted:
            with contextlib.suppress(Exception):  # a broken connection shows when the answer is read
                enlisted.write()
        self.written_ns = time.perf_counter_ns()
        self._decided.set()

    def shut(self) -> None:
        self.committed = False
        self._decided.set()

    def enlist(self, enlisted: _Enlisted) -> None:
        if self.committed:
            enlisted.write()  # the gate is already open: leave at once
        else:
            self._enlisted.append(enlisted)

    async def passage(self) -> None:
        """Wait for the commit; raise CancelledError when it failed (the request must not leave)."""
        self.arrived += 1
        if self.arrived >= self.expected:
            self._all_parked.set()
        await self._decided.wait()
        if not self.committed:
            raise asyncio.CancelledError("the intents were not committed")

    async def parked(self, legs: list[asyncio.Task]) -> None:
        """Until every leg waits at the gate (or one of them has already ended, e.g. refused while
        being built): then committing does not compete with signing for the interpreter."""
        self.expected = len(legs)
        if self.arrived >= self.expected:
            return
        waiter = asyncio.ensure_future(self._all_parked.wait())
        try:
            await asyncio.wait([waiter, *legs], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()


def install(client: Any) -> None:
    """Route the ccxt client's `fetch` through the gate of the current press (idempotent)."""
    if getattr(client, "_ttadak_send_gate", False):
        return
    original = client.fetch

    async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        gate = _current.get()
        if gate is None:
            return await original(url, method, headers, body)
        wire: wire_module.WireConnections | None = getattr(client, "_ldp_wire", None)
        connection = wire.take() if wire is not None and wire.serves(url) else None
        if connection is None:
            await gate.passage()
            return await original(url, method, headers, body)
        request_headers = client.prepare_request_headers(headers)
        enlisted = _Enlisted(connection, wire.encode(method, url, request_headers, body))
        gate.enlist(enlisted)
        try:
            await gate.passage()
        except BaseException:
            if enlisted.written:
                connection.close()  # its answer would be read by nobody
            else:
                wire.give_back(connection)
            raise
        return await wire_module.ccxt_complete(client, wire, connection, url=url, method=method,
                                               request_headers=request_headers, request_body=body)

    client.fetch = fetch
    client._ttadak_send_gate = True


async def prime(client: Any, count: int = 2) -> int:
    """Open (or refresh) `count` wire connections for the client's order endpoint; 0 when it has none
    (not Binance USDⓈ-M, a proxy): its legs then go through aiohttp."""
    urls = getattr(client, "urls", {}).get("api", {})
    order_base, public_base = urls.get("fapiPrivate"), urls.get("fapiPublic")
    if not isinstance(order_base, str) or not isinstance(public_base, str):
        return 0
    wire = wire_module.wire_for(client, order_base)
    if wire is None:
        return 0
    try:
        return await wire.prime(count, f"{public_base}/ping", timeout=client.timeout / 1000)
    except wire_module.WireError as error:
        logger.warning("no warm wire connections to %s: %s", wire.host, error)
        return 0


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
            if self.gate.committed is None:
                await self.gate.passage()
            raise


def start_legs(legs: list[Any], make: Any, gate: SendGate) -> list[asyncio.Task]:
    """Start one task per leg (`make(leg)` → coroutine) with the gate in their context."""
    token = _current.set(gate)
    try:
        return [asyncio.get_running_loop().create_task(make(leg)) for leg in legs]
    finally:
        _current.reset(token)
