"""Where a process's game engine lives, and how code outside its event loop reaches it.

- The Telegram bot (aiogram) *attaches* its own loop's engine at start-up (chat.telegram.routers.ttadak):
  presses arrive on that loop and go straight to the engine.
- Sync processes (the Slack app's listener threads, the terminal) get a *thread host*: a daemon thread
  running an event loop with an engine; `run()` hands it a coroutine and waits for the answer.

`warm_soon()` is how START (a sync service called from any surface) asks this process's engine, if it
has one, to warm the bot now rather than at its first press.

Every hand-off to the engine's loop runs in a fresh `contextvars.Context()`, never the caller's: a sync
caller is often inside asgiref's `sync_to_async` worker (Telegram's chat core, an ASGI request), and a task
inheriting that worker's state would have its own `sync_to_async` calls refuse ("Single thread executor
already being used, would deadlock") or queue behind the very thread that waits for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import gc
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ttadak.engine import GameEngine

logger = logging.getLogger(__name__)
T = TypeVar("T")

WARM_SCAN_SECONDS = 30.0  # a chat process warms bots started elsewhere (API, another surface) this often


class EngineHost:
    def __init__(self, engine: GameEngine, loop: asyncio.AbstractEventLoop, thread: threading.Thread | None):
        self.engine = engine
        self.loop = loop
        self.thread = thread  # None: attached to an adapter's own loop

    def call_soon(self, callback: Callable[..., object], *args: Any) -> None:
        """Run `callback(*args)` on the engine's loop, from any thread, in a fresh context (see above)."""
        self.loop.call_soon_threadsafe(callback, *args, context=contextvars.Context())

    def spawn_soon(self, make: Callable[[GameEngine], Awaitable[Any]]) -> None:
        """Start `make(engine)` as an engine task, from any thread, without waiting; it handles its own errors."""
        self.call_soon(lambda: self.engine.spawn(make(self.engine)))

    def submit(self, make: Callable[[GameEngine], Awaitable[T]]) -> concurrent.futures.Future[T]:
        async def call() -> T:
            return await make(self.engine)

        # run_coroutine_threadsafe schedules its task with the context current here: make that a fresh one.
        return contextvars.Context().run(asyncio.run_coroutine_threadsafe, call(), self.loop)

    def run(self, make: Callable[[GameEngine], Awaitable[T]], *, timeout: float = 30.0) -> T:
        """Run on the engine's loop and wait (from a thread that is not the loop's). A thread host only:
        in a process whose engine lives on the adapter's loop the caller must await it there."""
        if self.thread is None:
            raise RuntimeError("this process's engine lives on the chat adapter's loop; await it there")
        if threading.current_thread() is self.thread:
            raise RuntimeError("run() called from the engine's own thread")
        return self.submit(make).result(timeout)

    def warm_soon(self, subscribed_bot_id: int, on_done: Callable[[int], Awaitable[None]] | None = None) -> None:
        async def warm(engine: GameEngine) -> None:
            try:
                await engine.warm(subscribed_bot_id, force=True)
            except Exception as error:  # the reason is on the bot (error state) or shown at the next press
                logger.info("warming Ttadak bot %s: %s", subscribed_bot_id, error)
            if on_done is not None:
                await on_done(subscribed_bot_id)

        self.spawn_soon(warm)

    def forget_soon(self, subscribed_bot_id: int) -> None:
        self.call_soon(self.engine.forget, subscribed_bot_id)


_lock = threading.Lock()
_host: EngineHost | None = None


def current() -> EngineHost | None:
    return _host


def attach(engine: GameEngine, loop: asyncio.AbstractEventLoop) -> EngineHost:
    """An async adapter makes its loop's engine the process's engine."""
    global _host
    with _lock:
        _host = EngineHost(engine, loop, None)
        return _host


def detach(engine: GameEngine) -> None:
    global _host
    with _lock:
        if _host is not None and _host.engine is engine:
            _host = None


def thread_host(*, surface: str = "") -> EngineHost:
    """The process's thread host, started on first use (sync processes). With `surface`, the new host also
    warms the running bots and watches that surface's games in play again (ttadak.host.warm_scan)."""
    global _host
    with _lock:
        if _host is not None:
            return _host
        ready = threading.Event()
        box: dict[str, Any] = {}

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            box["engine"] = GameEngine()
            box["loop"] = loop
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, name="ttadak-engine", daemon=True)
        thread.start()
        ready.wait(10)
        _host = EngineHost(box["engine"], box["loop"], thread)
        if surface:
            _host.spawn_soon(lambda engine: warm_scan(engine, surface=surface))
        return _host


def stop_thread_host() -> None:
    """Close a thread host (tests, orderly shutdown)."""
    global _host
    with _lock:
        host = _host
        if host is None or host.thread is None:
            return  # an attached host belongs to its adapter, which closes it
        _host = None

    async def close(engine: GameEngine) -> None:
        from asgiref.sync import sync_to_async
        from django.db import connections

        await engine.close()
        await sync_to_async(connections.close_all)()  # the sync worker thread's database connections

    host.submit(close).result(30)
    host.loop.call_soon_threadsafe(host.loop.stop)
    host.thread.join(10)


_frozen = False


def freeze_long_lived() -> None:
    """Everything loaded so far (Django, ccxt markets, warm clients) lives as long as the process: move it
    out of the garbage collector's reach (once per process, after a collection so no garbage is kept),
    so full collections — whose pauses would land on a press — only walk what is new."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


async def warm_scan(engine: GameEngine, *, surface: str, interval: float = WARM_SCAN_SECONDS) -> None:
    """In a chat process: warm every running Ttadak bot, watch this surface's games in play again, and
    keep doing the first every `interval` seconds (bots started from the API or another process)."""
    from asgiref.sync import sync_to_async

    from ttadak.models import Game, GameState
    from ttadak.services.activation import running_ttadak_bot_ids

    ids = await sync_to_async(lambda: list(Game.objects.filter(state__in=(GameState.OPEN, GameState.SENDING),
                                                               surface=surface).values_list("pk", flat=True)[:500]))()
    engine.resume_watch(ids)
    first = True
    while True:
        try:
            running = set(await sync_to_async(running_ttadak_bot_ids)())
            for subscribed_bot_id in list(engine.sessions):
                if subscribed_bot_id not in running:
                    engine.forget(subscribed_bot_id)
            for subscribed_bot_id in running - set(engine.sessions):
                try:
                    await engine.warm(subscribed_bot_id)
                except Exception as error:
                    logger.info("warming Ttadak bot %s: %s", subscribed_bot_id, error)
        except Exception:
            logger.exception("Ttadak warm scan failed")
        if first:
            freeze_long_lived()
            first = False
        await asyncio.sleep(interval)
