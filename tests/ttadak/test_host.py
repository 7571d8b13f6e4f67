"""ttadak.host hand-offs from sync code to the engine's loop, in the shapes production calls them.

In the Telegram process a sync service (START → EngineHost.warm_soon) runs in asgiref's `sync_to_async`
worker on the bot's own loop; the Slack app or an ASGI request waits on a thread host from a
thread-sensitive worker. Work handed to the engine must not inherit that worker's asgiref state, or its own
`sync_to_async` calls refuse ("would deadlock") or queue behind the very thread that waits for them.

Transactional: the engine's database work runs on asgiref's worker threads, with connections of their own.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator

import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async

from tests.ttadak.conftest import PRICE, Player, player_create
from trading.gateways.pool import LiveGatewayPool
from ttadak import host
from ttadak.engine import GameEngine

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def started_player(exchange_emulator, exchange_api_base, fast_watch) -> Player:  # noqa: ANN001
    exchange_emulator.exchange.set_price("BTCUSDT", PRICE)
    return player_create(exchange_emulator)


@pytest.fixture
def attached_host() -> Iterator[host.EngineHost]:
    """Like the Telegram process: an event loop on a thread of its own (aiogram's), its engine attached."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="adapter-loop", daemon=True)
    thread.start()

    async def attach() -> host.EngineHost:
        return host.attach(GameEngine(pool=LiveGatewayPool(timeout_ms=2000)), asyncio.get_running_loop())

    engine_host = asyncio.run_coroutine_threadsafe(attach(), loop).result(10)
    try:
        yield engine_host
    finally:
        async def close() -> None:
            from django.db import connections

            host.detach(engine_host.engine)
            await engine_host.engine.close()
            await sync_to_async(connections.close_all)()

        asyncio.run_coroutine_threadsafe(close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def thread_host() -> Iterator[host.EngineHost]:
    try:
        yield host.thread_host()
    finally:
        host.stop_thread_host()


def wait_for(condition, what: str, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen")
        time.sleep(0.02)


def test_warm_soon_from_a_sync_service_on_the_adapters_loop_warms_the_bot(
        started_player: Player, attached_host: host.EngineHost, caplog: pytest.LogCaptureFixture) -> None:
    bot_id = started_player.bot.pk
    warmed = threading.Event()

    async def on_done(subscribed_bot_id: int) -> None:
        warmed.set()

    async def start_pressed() -> None:  # aiogram handler → sync_to_async(chat core) → START → warm_soon
        await sync_to_async(lambda: host.current().warm_soon(bot_id, on_done=on_done))()

    with caplog.at_level(logging.INFO, logger="ttadak.host"):
        asyncio.run_coroutine_threadsafe(start_pressed(), attached_host.loop).result(10)
        wait_for(warmed.is_set, "the warm-up")

    assert not [r for r in caplog.records if "would deadlock" in r.getMessage()]
    assert not [r for r in caplog.records if r.name == "ttadak.host" and "warming" in r.getMessage()]
    assert bot_id in attached_host.engine.sessions


def test_a_thread_sensitive_caller_waiting_on_the_thread_host_is_not_deadlocked(
        started_player: Player, thread_host: host.EngineHost) -> None:
    bot_id = started_player.bot.pk

    async def request() -> int:  # an ASGI request: a sync view in its own thread-sensitive worker, waiting
        async with ThreadSensitiveContext():
            session = await sync_to_async(lambda: thread_host.run(lambda engine: engine.warm(bot_id), timeout=8))()
        return session.subscribed_bot_id

    assert asyncio.run(request()) == bot_id
    assert bot_id in thread_host.engine.sessions
