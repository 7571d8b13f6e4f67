"""`core.fastinsert` writes the rows the ORM writes (defaults, decimals, JSON, datetimes, foreign keys), and
its driver-level transaction commits, rolls back and raises like Django's."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.db.models import Model
from django.forms.models import model_to_dict

from bots.models import Order
from core.fastinsert import PreparedInsert, driver_transaction
from tests.factories import BotRunFactory, GameFactory, OrderFactory
from ttadak.models import Game

pytestmark = pytest.mark.django_db

VOLATILE = ("id", "client_order_id", "idempotency_key", "created_at", "updated_at")


def _row(obj: object) -> dict:
    fresh = type(obj).objects.get(pk=obj.pk)  # type: ignore[attr-defined]
    return {k: v for k, v in model_to_dict(fresh).items() if k not in VOLATILE}


def _insert(objects: Sequence[Model], late: tuple[str, ...] = ()) -> None:
    with driver_transaction() as cursor:
        PreparedInsert(objects, late=late).execute(cursor)


def test_orders_and_a_game_inserted_fast_equal_the_orm_rows() -> None:
    run = BotRunFactory()
    template = OrderFactory.build(run=run, subscribed_bot=run.subscribed_bot, price=Decimal("60000.10"),
                                  amount=Decimal("0.002"), purpose="entry")
    fields = {f.attname: getattr(template, f.attname) for f in Order._meta.concrete_fields if f.attname != "id"}
    orm = Order(**{**fields, "client_order_id": "orm-1"})
    orm.save()
    fast = [Order(**{**fields, "client_order_id": f"fast-{n}"}) for n in (1, 2)]
    _insert(fast, late=("created_at", "updated_at"))
    assert all(o.pk and not o._state.adding for o in fast) and len({o.pk for o in fast}) == 2
    assert _row(fast[0]) == _row(fast[1]) == _row(orm)
    assert Order.objects.get(pk=fast[1].pk).client_order_id == "fast-2"  # keys come back in row order
    assert Order.objects.get(pk=fast[0].pk).created_at == fast[0].created_at  # auto_now, stamped and kept

    game_template = GameFactory.build(run=run, subscribed_bot=run.subscribed_bot, entry_order=fast[0],
                                      exit_order=fast[1], settings={"leverage": 20, "fee": "0.05"})
    game_fields = {f.attname: getattr(game_template, f.attname) for f in Game._meta.concrete_fields
                   if f.attname != "id"}
    orm_game = Game(**{**game_fields, "idempotency_key": "orm"})
    orm_game.save()
    Game.objects.filter(pk=orm_game.pk).update(entry_order=None, exit_order=None)  # unique legs
    fast_game = Game(**{**game_fields, "idempotency_key": "fast"})
    _insert([fast_game])
    expected = {**_row(orm_game), "entry_order": fast[0].pk, "exit_order": fast[1].pk}
    assert _row(fast_game) == expected and Game.objects.get(pk=fast_game.pk).settings["fee"] == "0.05"


def test_late_columns_are_read_when_the_statement_runs() -> None:
    existing = OrderFactory()
    fields = {f.attname: getattr(existing, f.attname) for f in Order._meta.concrete_fields if f.attname != "id"}
    order = Order(**{**fields, "client_order_id": "late-1", "purpose": "entry"})
    prepared = PreparedInsert([order], late=("purpose",))
    order.purpose, order.symbol = "exit", "ETH/USDT:USDT"  # only the late column's change is written
    with driver_transaction() as cursor:
        prepared.execute(cursor)
    saved = Order.objects.get(pk=order.pk)
    assert (saved.purpose, saved.symbol) == ("exit", existing.symbol)
    with pytest.raises(ValueError, match="no column"):
        PreparedInsert([Order(**fields)], late=("nonsense",))


def test_a_constraint_violation_raises_integrity_error_and_writes_nothing() -> None:
    existing = OrderFactory()
    fields = {f.attname: getattr(existing, f.attname) for f in Order._meta.concrete_fields if f.attname != "id"}
    before = Order.objects.count()
    with pytest.raises(IntegrityError):
        _insert([Order(**{**fields, "client_order_id": "new-one"}), Order(**fields)])
    assert Order.objects.count() == before


def test_only_new_objects_of_one_model_are_accepted() -> None:
    existing = OrderFactory()
    with pytest.raises(ValueError):
        PreparedInsert([existing])
    with pytest.raises(ValueError):
        PreparedInsert([])


@pytest.mark.django_db(transaction=True)
def test_the_driver_transaction_commits_rolls_back_and_leaves_the_connection_as_django_expects() -> None:
    existing = OrderFactory()
    fields = {f.attname: getattr(existing, f.attname) for f in Order._meta.concrete_fields if f.attname != "id"}
    _insert([Order(**{**fields, "client_order_id": "committed"})])
    with pytest.raises(IntegrityError), driver_transaction() as cursor:  # a taken key: the first row goes too
        PreparedInsert([Order(**{**fields, "client_order_id": "rolled-back"})]).execute(cursor)
        PreparedInsert([Order(**fields)]).execute(cursor)
    with pytest.raises(RuntimeError), driver_transaction() as cursor:  # any error rolls back
        PreparedInsert([Order(**{**fields, "client_order_id": "also-rolled-back"})]).execute(cursor)
        raise RuntimeError("changed my mind")
    assert set(Order.objects.values_list("client_order_id", flat=True)) == {existing.client_order_id, "committed"}
    assert connection.get_autocommit() and not connection.in_atomic_block
    with driver_transaction() as cursor:  # a transaction that runs nothing sends nothing
        pass
    with driver_transaction() as cursor:  # reads see the committed rows; placeholders as Django's cursor takes
        table = connection.ops.quote_name(Order._meta.db_table)
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE client_order_id = %s", ["committed"])
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_fails_as_a_database_error_and_the_next_transaction_works() -> None:
    """A database restart between presses: the press fails with Django's error (the chat says so; nothing
    was sent) and its database thread opens a new connection for the next one."""
    import asyncio

    from django.db import DatabaseError

    from core.dbthread import DatabaseThread

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server that could drop a connection")
    existing = OrderFactory()
    fields = {f.attname: getattr(existing, f.attname) for f in Order._meta.concrete_fields if f.attname != "id"}
    thread = DatabaseThread("test-press-db")

    def backend_pid() -> int:
        with driver_transaction() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    def insert(client_order_id: str) -> None:
        _insert([Order(**{**fields, "client_order_id": client_order_id})])

    try:
        pid = asyncio.run(thread.call(backend_pid))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(DatabaseError):
            asyncio.run(thread.call(insert, "after-the-drop"))
        asyncio.run(thread.call(insert, "next-press"))
        assert asyncio.run(thread.call(backend_pid)) != pid
    finally:
        asyncio.run(thread.close())
    assert set(Order.objects.values_list("client_order_id", flat=True)) == {existing.client_order_id, "next-press"}


class _RoundTrips:
    """Stands in for the driver's cursor: counts what is sent to the server (one execute = one round trip)."""

    def __init__(self, cursor: object):
        self._cursor = cursor
        self.sent: list[str] = []

    def execute(self, sql: object, *params: object) -> None:
        self.sent.append(sql.decode() if isinstance(sql, bytes) else str(sql))
        self._cursor.execute(sql, *params)

    def __getattr__(self, name: str) -> object:
        return getattr(self._cursor, name)


@pytest.mark.django_db(transaction=True)
def test_rows_with_given_keys_keep_them_and_on_postgresql_leave_with_the_commit() -> None:
    existing = OrderFactory()
    fields = {f.attname: getattr(existing, f.attname) for f in Order._meta.concrete_fields if f.attname != "id"}
    orders = [Order(**{**fields, "client_order_id": f"given-{n}"}) for n in (1, 2)]
    prepared = PreparedInsert(orders, late=("created_at", "updated_at"), given_keys=True)
    with pytest.raises(ValueError, match="primary key"), driver_transaction() as cursor:
        prepared.execute(cursor)  # no keys given yet
    orders[0].pk, orders[1].pk = existing.pk + 100, existing.pk + 50
    with driver_transaction() as cursor:
        spy = cursor._cursor = _RoundTrips(cursor._cursor)
        cursor.execute("SELECT 1")
        prepared.execute(cursor)
    assert [o.client_order_id for o in Order.objects.filter(pk__in=[existing.pk + 100, existing.pk + 50])
            .order_by("-pk")] == ["given-1", "given-2"]
    assert all(not o._state.adding for o in orders)
    assert _row(orders[0]) == _row(existing)
    if connection.vendor == "postgresql":  # BEGIN with the SELECT, then the INSERT with the COMMIT
        assert len(spy.sent) == 2 and spy.sent[1].startswith("INSERT") and spy.sent[1].endswith("; COMMIT")
    else:  # SQLite has no round trips to save: each statement on its own
        assert spy.sent[-2].startswith("INSERT") and spy.sent[-1] == "COMMIT"


@pytest.mark.django_db(transaction=True)
def test_a_statement_sent_with_the_commit_that_fails_rolls_everything_back() -> None:
    existing = OrderFactory()
    fields = {f.attname: getattr(existing, f.attname) for f in Order._meta.concrete_fields if f.attname != "id"}
    fresh = Order(**{**fields, "client_order_id": "fresh"})
    taken = Order(**fields)  # the existing client order id: a unique violation
    inserts = [PreparedInsert([fresh], given_keys=True), PreparedInsert([taken], given_keys=True)]
    fresh.pk, taken.pk = existing.pk + 10, existing.pk + 11
    with pytest.raises(IntegrityError), driver_transaction() as cursor:
        cursor.execute("SELECT 1")
        for insert in inserts:
            insert.execute(cursor)
    assert list(Order.objects.values_list("client_order_id", flat=True)) == [existing.client_order_id]
    assert connection.get_autocommit() and not connection.in_atomic_block
    _insert([Order(**{**fields, "client_order_id": "after"})])  # the connection works on
    assert Order.objects.filter(client_order_id="after").exists()
