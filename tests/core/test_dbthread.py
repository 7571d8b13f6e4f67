"""`core.dbthread`: a hot path's own database thread and connection."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import IntegrityError, connection

from bots.models import Order
from core.dbthread import DatabaseThread
from tests.factories import OrderFactory


def _where() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return threading.get_ident(), id(connection.connection)


@pytest.mark.django_db(transaction=True)
def test_calls_run_on_one_thread_that_keeps_its_connection_and_close_ends_it() -> None:
    thread = DatabaseThread("test-db")

    async def scenario() -> tuple[list[tuple[int, int]], bool]:
        places = [await thread.call(_where) for _ in range(3)]
        connection_of_thread = await thread.call(lambda: connection)
        await thread.close()
        return places, connection_of_thread.connection is None

    places, closed = asyncio.run(scenario())
    assert len(set(places)) == 1  # the same thread and the same open connection each time
    assert places[0][0] != threading.get_ident()
    assert closed


@pytest.mark.django_db(transaction=True)
def test_errors_propagate_and_a_connection_that_still_works_is_kept() -> None:
    order = OrderFactory()
    thread = DatabaseThread("test-db")

    def duplicate() -> None:
        Order.objects.filter(pk=order.pk).update(client_order_id=OrderFactory().client_order_id)

    async def scenario() -> tuple[tuple[int, int], tuple[int, int]]:
        before = await thread.call(_where)
        with pytest.raises(IntegrityError):
            await thread.call(duplicate)
        after = await thread.call(_where)
        await thread.close()
        return before, after

    before, after = asyncio.run(scenario())
    assert before == after  # an IntegrityError (a double tap) does not cost a reconnect


@pytest.mark.django_db(transaction=True)
def test_ping_keeps_a_working_connection_and_replaces_one_the_server_dropped() -> None:
    thread = DatabaseThread("test-db")

    def backend_pid() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    async def keeps_working_one() -> int | None:
        first = await thread.call(_where)
        await thread.ping()
        assert await thread.call(_where) == first  # working: kept
        return await thread.call(backend_pid) if connection.vendor == "postgresql" else None

    async def replaces_dropped_one(pid: int) -> None:
        await thread.ping()
        assert await thread.call(lambda: connection.connection is None)  # the dead one was closed
        assert await thread.call(backend_pid) != pid  # and the next call opens a new one

    try:
        pid = asyncio.run(keeps_working_one())
        if pid is not None:  # SQLite has no server that could drop a connection
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            asyncio.run(replaces_dropped_one(pid))
        assert asyncio.run(thread.call(lambda: Order.objects.count())) == 0
    finally:
        asyncio.run(thread.close())


@pytest.mark.django_db(transaction=True)
def test_on_connect_sets_up_each_new_connection_of_the_thread_once() -> None:
    prepared: list[int] = []
    thread = DatabaseThread("test-db", on_connect=lambda c: prepared.append(id(c.connection)))

    def reconnect() -> None:
        connection.close()

    try:
        asyncio.run(thread.call(_where))
        asyncio.run(thread.call(_where))
        assert len(prepared) == 1
        asyncio.run(thread.call(reconnect))
        asyncio.run(thread.call(_where))
        assert len(prepared) == 2  # the new connection was set up before its first use
    finally:
        asyncio.run(thread.close())
