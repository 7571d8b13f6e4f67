"""Pytest fixtures for the exchange emulator (a plugin: `pytest_plugins = ["emulators.exchange.testing"]`).

- `exchange_emulator_server` (session): one in-process emulator on 127.0.0.1:<free port>.
- `exchange_emulator` (function): that server, reset (state, faults, request log) before the test.
- `exchange_control` (function): an `EmulatorControl` for it.
- `exchange_account` (function): a fresh API key with 10 000 USDT -> `EmulatorAccount`.
- `exchange_api_base` (function): `settings.EXCHANGE_API_BASE` pointed at the emulator (needs pytest-django).
- `exchange_emulator_process` (function): the emulator in a separate process (for kill -9 tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from emulators.exchange.runner import EmulatorControl, EmulatorProcess, EmulatorServer


@dataclass(frozen=True)
class EmulatorAccount:
    api_key: str
    secret: str
    account: str
    base_url: str


@pytest.fixture(scope="session")
def exchange_emulator_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(seed=7, mode="manual").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def exchange_emulator(exchange_emulator_server: EmulatorServer) -> EmulatorServer:
    exchange_emulator_server.exchange.reset()
    exchange_emulator_server.faults.clear()
    return exchange_emulator_server


@pytest.fixture
def exchange_control(exchange_emulator: EmulatorServer) -> EmulatorControl:
    return exchange_emulator.control


@pytest.fixture
def exchange_account(exchange_emulator: EmulatorServer) -> EmulatorAccount:
    key = exchange_emulator.exchange.create_key(balances={"USDT": "10000"})
    return EmulatorAccount(api_key=key.key, secret=key.secret, account=key.account,
                           base_url=exchange_emulator.base_url)


@pytest.fixture
def exchange_api_base(exchange_emulator: EmulatorServer, settings) -> str:  # type: ignore[no-untyped-def]
    settings.EXCHANGE_API_BASE = exchange_emulator.base_url
    return exchange_emulator.base_url


@pytest.fixture
def exchange_emulator_process() -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(seed=11, mode="manual").start()
    try:
        yield process
    finally:
        process.stop()


def ccxt_binanceusdm(base_url: str, api_key: str = "", secret: str = "", **config: object):  # type: ignore[no-untyped-def]
    """An async ccxt `binanceusdm` pointed at the emulator by URL only (for tests of the emulator itself)."""
    import ccxt.async_support as ccxt_async

    options = {"fetchCurrencies": False, "warnOnFetchOpenOrdersWithoutSymbol": False}
    client = ccxt_async.binanceusdm({"apiKey": api_key, "secret": secret, "enableRateLimit": False,
                                     "options": options, **config})
    for name, url in list(client.urls["api"].items()):
        if isinstance(url, str) and url.startswith("https://"):
            client.urls["api"][name] = base_url.rstrip("/") + url[url.index("/", len("https://")):]
    return client
