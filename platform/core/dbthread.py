"""A thread of its own, with its own database connection, for one hot path of an event loop.

`sync_to_async` runs every ORM call of a process on one shared thread (thread-sensitive mode): a call
waits behind whatever else is queued there (a panel's queries, bookkeeping of the last game), and each
hop goes through asgiref's context copying. A hot path that must commit while a user waits — the
Ttadak press — gets a `DatabaseThread` instead: one worker thread, so its connection stays open
between calls (Django connections belong to a thread), and a plain `run_in_executor` hop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, Error, connections
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)
T = TypeVar("T")


class DatabaseThread:
    def __init__(self, name: str, *, on_connect: Callable[[BaseDatabaseWrapper], None] | None = None):
        """`on_connect(connection)` sets up each new connection of the thread (the default database's)
        before its first use, e.g. `core.db.leave_checkpoints_to_others`."""
        self.name = name
        self._on_connect = on_connect
        self._prepared: object = None  # the DB-API connection on_connect last ran for (runs in the thread)
        self._executor: ThreadPoolExecutor | None = None

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        return self._executor

    async def call(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run `function(*args, **kwargs)` on the thread; its exceptions propagate."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), functools.partial(self._run, function, args, kwargs))

    def _run(self, function: Callable[..., T], args: tuple, kwargs: dict[str, Any]) -> T:
        try:
            if self._on_connect is not None:
                connection = connections[DEFAULT_DB_ALIAS]
                if connection.connection is None or connection.connection is not self._prepared:
                    connection.ensure_connection()
                    self._on_connect(connection)
                    self._prepared = connection.connection
            return function(*args, **kwargs)
        except Error:  # DatabaseError, or InterfaceError on a connection already closed
            _close_broken()
            raise

    async def ping(self) -> None:
        """Check the thread's connection at a quiet moment (closes a broken one; the next call opens a new
        one), so a press after a database restart does not find it broken."""
        await self.call(_close_broken)

    async def close(self) -> None:
        """Close the thread's connections and end the thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(executor, connections.close_all)
        finally:
            executor.shutdown(wait=False)


def _close_broken() -> None:
    """Close the thread's connections that no longer work (after a database error, or as a ping); an
    IntegrityError leaves a connection fine, and the next call opens a new one for a closed one."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.is_usable():
            logger.warning("database connection %s is broken; closing it", connection.alias)
            connection.close()
