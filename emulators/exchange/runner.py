"""Ways to run the emulator: in-process on a background thread, as a subprocess, or in the foreground (CLI).

All of them bind 127.0.0.1; port 0 picks a free port, reported back through `base_url`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web

from emulators.exchange.engine import Exchange
from emulators.exchange.faults import FaultPlan
from emulators.exchange.server import ARRIVALS_KEY, SO_TIMESTAMPNS, ArrivalStampingProtocol, build_app

REPO_ROOT = Path(__file__).resolve().parents[2]


class EmulatorControl:
    """A small synchronous client for the `/_emulator/…` control endpoints."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.base_url}/_emulator/{path}", data=data, method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (loopback only)
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"emulator control {method} {path}: {error.code} {error.read()!r}") from None

    def create_key(self, *, balances: dict[str, Any] | None = None, futures: bool = True, spot: bool = False,
                   withdrawals: bool = False, ip_allowlist: list[str] | None = None, account: str | None = None,
                   api_key: str | None = None, secret: str | None = None) -> dict[str, str]:
        """A new API key (and its account, unless `account` names an existing one) -> {api_key, secret, account}."""
        return self._call("POST", "keys", {
            "balances": balances, "account": account, "api_key": api_key, "secret": secret,
            "ip_allowlist": ip_allowlist,
            "permissions": {"futures": futures, "spot": spot, "withdrawals": withdrawals},
        })

    def set_price(self, symbol: str, price: Any) -> dict[str, str]:
        return self._call("POST", "price", {"symbol": symbol, "price": str(price)})

    def prices(self) -> dict[str, str]:
        return self._call("GET", "price")

    def advance(self, bars: int = 1) -> dict[str, int]:
        return self._call("POST", "advance", {"bars": bars})

    def load_candles(self, symbol: str, candles: list[list[Any]], start_index: int = 0) -> dict[str, int]:
        return self._call("POST", "candles", {"symbol": symbol, "candles": candles, "start_index": start_index})

    def add_fault(self, kind: str, **spec: Any) -> dict[str, Any]:
        """See emulators.exchange.faults for kinds and fields, e.g. add_fault("drop", when="after",
        path="/fapi/v1/order", method="POST", times=1)."""
        return self._call("POST", "faults", {"kind": kind, **spec})

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def requests(self, *, since: int = 0, path: str | None = None, api_key: str | None = None) -> list[dict[str, Any]]:
        query = f"requests?since={since}" + (f"&path={path}" if path else "")
        query += f"&api_key={api_key}" if api_key else ""
        return self._call("GET", query)

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def orders(self, *, account: str | None = None, api_key: str | None = None) -> list[dict[str, Any]]:
        query = "orders" + (f"?account={account}" if account else f"?api_key={api_key}" if api_key else "")
        return self._call("GET", query)

    def account(self, account: str) -> dict[str, Any]:
        return self._call("GET", f"accounts/{account}")

    def set_balances(self, account: str, balances: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"accounts/{account}", {"balances": {k: str(v) for k, v in balances.items()}})

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")

    def reset(self) -> None:
        self._call("POST", "reset")


async def start_site(exchange: Exchange, *, host: str = "127.0.0.1", port: int = 0,
                     faults: FaultPlan | None = None) -> tuple[web.AppRunner, str]:
    """Start the emulator on the running loop; returns (runner, base_url). Stop with `await runner.cleanup()`."""
    app = build_app(exchange, faults)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = ArrivalStampingSite(runner, host, port, backlog=512)
    await site.start()
    bound_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://{host}:{bound_port}"


class ArrivalStampingSite(web.TCPSite):
    """A TCP site whose connections stamp each request's arrival as its first bytes are read."""

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        arrivals = self._runner.app[ARRIVALS_KEY]  # type: ignore[union-attr]
        self._server = await asyncio.get_running_loop().create_server(
            lambda: ArrivalStampingProtocol(server(), arrivals), self._host, self._port,
            ssl=self._ssl_context, backlog=self._backlog, reuse_address=self._reuse_address,
            reuse_port=self._reuse_port)
        for listening in self._server.sockets:
            # Accepted connections inherit it: bytes that arrive before the emulator has even accepted
            # the connection carry the kernel's stamp too.
            with contextlib.suppress(OSError):
                listening.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port


class EmulatorServer:
    """The emulator in this process, served from a background thread with its own event loop.

    Tests reach the state directly (`server.exchange`, `server.faults`) or over HTTP (`server.control`).
    """

    def __init__(self, exchange: Exchange | None = None, *, seed: int = 1, mode: str = "manual",
                 host: str = "127.0.0.1", port: int = 0):
        self.exchange = exchange or Exchange(seed=seed, mode=mode)
        self.faults = FaultPlan(seed=self.exchange.seed)
        self.host, self.port = host, port
        self.base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def control(self) -> EmulatorControl:
        return EmulatorControl(self.base_url)

    def start(self) -> EmulatorServer:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._runner, self.base_url = loop.run_until_complete(
                    start_site(self.exchange, host=self.host, port=self.port, faults=self.faults)
                )
            except BaseException as error:  # report start-up failures to the caller
                errors.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="exchange-emulator", daemon=True)
        self._thread.start()
        ready.wait(timeout=10)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmulatorProcess:
    """The emulator as a separate process (`python -m emulators.exchange`), for tests that kill things."""

    def __init__(self, *, seed: int = 1, mode: str = "manual", port: int = 0, extra_args: list[str] | None = None):
        self.argv = [sys.executable, "-m", "emulators.exchange", "--host", "127.0.0.1", "--port", str(port),
                     "--seed", str(seed), "--mode", mode, "--ready-line", *(extra_args or [])]
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""

    @property
    def control(self) -> EmulatorControl:
        return EmulatorControl(self.base_url)

    def start(self, timeout: float = 20.0) -> EmulatorProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.process = subprocess.Popen(self.argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        # The first line is {"base_url": ...} once the socket listens.
        result: dict[str, str] = {}

        def read_ready() -> None:
            line = self.process.stdout.readline()  # type: ignore[union-attr]
            if line:
                result.update(json.loads(line))

        reader = threading.Thread(target=read_ready, daemon=True)
        reader.start()
        reader.join(timeout)
        if "base_url" not in result:
            self.stop()
            raise RuntimeError("the exchange emulator process did not start")
        self.base_url = result["base_url"]
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve_forever(*, host: str, port: int, seed: int, mode: str, speed: float = 1.0,
                        ready_line: bool = False, candles_file: str | None = None,
                        candles_symbol: str = "BTCUSDT") -> None:
    """Foreground server for `ldp exchange-emulator` / `python -m emulators.exchange`; stops on SIGINT/SIGTERM."""
    exchange = Exchange(seed=seed, mode=mode, speed=speed)
    if candles_file:
        candles = json.loads(Path(candles_file).read_text())
        exchange.load_candles(candles_symbol, candles)
    runner, base_url = await start_site(exchange, host=host, port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if ready_line:
        print(json.dumps({"base_url": base_url}), flush=True)
    else:
        print(f"exchange emulator (binanceusdm) on {base_url}  seed={seed} mode={mode}\n"
              f"  point the platform at it: EXCHANGE_API_BASE={base_url}\n"
              f"  control endpoints: {base_url}/_emulator/state, /_emulator/keys, /_emulator/faults …", flush=True)
    await stop.wait()
    await runner.cleanup()
