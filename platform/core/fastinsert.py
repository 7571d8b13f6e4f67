"""INSERT model instances prepared ahead, for a hot path whose rows are known before the moment they
must be written (the Ttadak press writes three rows while a user waits; the rows of a panel's buttons
are known when it is drawn).

`PreparedInsert` compiles the statement once per model and row count, and prepares the values when it
is made; at the INSERT only a few "late" columns (timestamps, who pressed, keys of rows inserted just
before) are prepared. Values go through each field's own `pre_save` and `get_db_prep_save`, as
`Model.save()` and `bulk_create()` do (auto_now, defaults, JSON, decimals, time zones), so the rows are
the ORM's rows; a test compares them. No signals are sent (bulk_create sends none either): use it only
for models whose inserts have no receivers.

`driver_transaction` runs such statements on the database driver's own cursor, with none of the ORM's
per-statement wrapping between them (on PostgreSQL, BEGIN goes with the first statement). An INSERT of
rows whose primary keys the caller gave (`given_keys`: drawn from the sequences by an earlier statement of
the transaction) returns nothing the transaction waits for, so on PostgreSQL it is sent with whatever
comes next — the next statement or the COMMIT — in one round trip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import Error, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model


class _Statement:
    """The compiled INSERT of `rows` rows of a model, and what makes preparing its values cheap."""

    def __init__(self, model: type[Model], rows: int, using: str, given_keys: bool):
        connection = connections[using]
        meta = model._meta
        self.fields = tuple(field for field in meta.local_concrete_fields
                            if given_keys or field is not meta.auto_field)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in self.fields)
        row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        returning = "" if given_keys else " " + connection.ops.return_insert_columns([meta.pk])[0]
        self.sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)}{returning}"
        # Fields whose pre_save is Field's own just read the attribute (no auto_now and the like).
        self.plain = tuple(type(field).pre_save is Field.pre_save for field in self.fields)
        self.attnames = tuple(field.attname for field in self.fields)
        # Each column's last value and its prepared form: most columns of a hot insert (foreign keys,
        # defaults, empty timestamps) repeat, and preparing a value costs several microseconds.
        self.last: list[tuple[object, object] | None] = [None] * len(self.fields)

    def params(self, objects: Sequence[Model], connection: object) -> list[object]:
        params: list[object] = []
        fields, plain, attnames, last = self.fields, self.plain, self.attnames, self.last
        for obj in objects:
            values = obj.__dict__
            for index, field in enumerate(fields):
                value = values[attnames[index]] if plain[index] else field.pre_save(obj, True)
                seen = last[index]
                if seen is not None and (seen[0] is value or (
                        type(value) in _REUSABLE and type(seen[0]) is type(value) and seen[0] == value
                        and (type(value) is not Decimal or str(seen[0]) == str(value)))):  # 1.0 == 1.00
                    params.append(seen[1])
                    continue
                prepared = field.get_db_prep_save(value, connection=connection)
                if type(value) in _REUSABLE:  # never a mutable value (a JSON document): it could change
                    last[index] = (value, prepared)
                params.append(prepared)
        return params


_REUSABLE = (type(None), bool, int, str, Decimal)


@cache
def _statement(model: type[Model], rows: int, vendor: str, using: str, given_keys: bool) -> _Statement:
    return _Statement(model, rows, using, given_keys)


@cache
def _driver_sql(vendor: str, sql: str) -> str:
    """`sql` in the driver's own placeholder style: what Django's SQLite cursor converts on every call
    (format → qmark), done once per statement. psycopg2 takes the format style as is."""
    return re.sub(r"(?<!%)%s", "?", sql).replace("%%", "%") if vendor == "sqlite" else sql


class PreparedInsert:
    """The INSERT of `objects` (new, of one model) with their values prepared now, to run later.

    Columns named in `late` are read from the objects and prepared when the statement runs, through
    the same `pre_save` (an auto_now column gets the time of the INSERT, as with `save()`). Everything
    else is prepared now, so change nothing else on the objects before `execute`. Runs once.

    With `given_keys` the caller sets each object's primary key before `execute` (a late column), and
    the INSERT returns nothing: on PostgreSQL it leaves with the transaction's next statement or COMMIT."""

    def __init__(self, objects: Sequence[Model], *, late: Iterable[str] = (), using: str = "default",
                 given_keys: bool = False):
        if not objects:
            raise ValueError("PreparedInsert needs at least one object")
        model = type(objects[0])
        for obj in objects:
            if type(obj) is not model or obj.pk is not None:
                raise ValueError("PreparedInsert takes new objects of one model")
        connection = connections[using]
        self.objects = list(objects)
        self.using = using
        self.given_keys = given_keys
        self._statement = _statement(model, len(objects), connection.vendor, using, given_keys)
        width = len(self._statement.fields)
        late = set(late) | ({model._meta.pk.attname} if given_keys else set())
        unknown = late - set(self._statement.attnames)
        if unknown:
            raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
        self._late = [(row * width + index, obj, self._statement.fields[index])
                      for row, obj in enumerate(self.objects)
                      for index, attname in enumerate(self._statement.attnames) if attname in late]
        self._params = self._statement.params(self.objects, connection)

    def execute(self, cursor: DriverCursor) -> None:
        """Run it in `driver_transaction`; sets the objects' pk (with `given_keys`: they must have one)."""
        connection = connections[self.using]
        params = self._params
        if self.given_keys and any(obj.pk is None for obj in self.objects):
            raise ValueError("given_keys: set every object's primary key before the INSERT")
        for position, obj, field in self._late:
            params[position] = field.get_db_prep_save(field.pre_save(obj, True), connection=connection)
        if self.given_keys:
            cursor.send_with_next(self._statement.sql, params)
        else:
            cursor.execute(self._statement.sql, params)
            keys = [row[0] for row in cursor.fetchall()]
            if len(keys) != len(self.objects):
                raise RuntimeError(f"INSERT returned {len(keys)} keys for {len(self.objects)} rows")
            for obj, key in zip(self.objects, keys, strict=True):
                obj.pk = key
        for obj in self.objects:
            obj._state.adding = False
            obj._state.db = self.using


class DriverCursor:
    """The database driver's own cursor inside `driver_transaction`. It takes SQL with `%s` placeholders
    like Django's cursor, and raises Django's exceptions (IntegrityError, …)."""

    def __init__(self, connection: BaseDatabaseWrapper, begin: str):
        self._connection = connection
        self._cursor = connection.connection.cursor()
        self._begin = begin  # sent with (PostgreSQL) or just before (SQLite) the first statement
        self.begun = not begin
        # PostgreSQL statements waiting for the next one or the COMMIT (already interpolated, as psycopg2
        # would send them). Only where this cursor commits: inside an atomic block they run at once.
        self._waiting: list[bytes] = []
        self._glue = connection.vendor == "postgresql" and bool(begin)

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        sql = _driver_sql(self._connection.vendor, sql)
        with self._connection.wrap_database_errors:
            if not self.begun:
                self.begun = True
                if self._connection.vendor == "postgresql":
                    sql = f"{self._begin}; {sql}"  # one round trip for both; psycopg2 would send BEGIN alone
                else:
                    self._cursor.execute(self._begin)
            if self._waiting:
                self._cursor.execute(self._glued(self._cursor.mogrify(sql, params)))
            else:
                self._cursor.execute(sql, params)

    def send_with_next(self, sql: str, params: Sequence[object] = ()) -> None:
        """A statement whose answer nobody waits for: on PostgreSQL it is sent with the next statement
        or the COMMIT (one round trip; its error raises there), elsewhere now."""
        if not (self._glue and self.begun):
            self.execute(sql, params)
            return
        with self._connection.wrap_database_errors:
            self._waiting.append(self._cursor.mogrify(sql, params))

    def _glued(self, last: bytes) -> bytes:
        statements, self._waiting = [*self._waiting, last], []
        return b"; ".join(statements)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def commit(self) -> None:
        with self._connection.wrap_database_errors:
            self._cursor.execute(self._glued(b"COMMIT") if self._waiting else "COMMIT")

    def rollback(self) -> None:
        self._waiting = []
        with self._connection.wrap_database_errors:
            self._cursor.execute("ROLLBACK")


@contextmanager
def driver_transaction(*, using: str = "default") -> Iterator[DriverCursor]:
    """A transaction run on the driver's own connection and cursor, for a hot path of a few prepared
    statements: commits when the block ends, rolls back when it raises.

    BEGIN goes with the first statement, on PostgreSQL in the same round trip. Inside an atomic block
    (a test's transaction, say) it is a savepoint of that block, through Django."""
    connection = connections[using]
    if connection.in_atomic_block:
        with transaction.atomic(using=using):
            yield DriverCursor(connection, "")
        return
    connection.ensure_connection()
    mode = getattr(connection, "transaction_mode", None) if connection.vendor == "sqlite" else None
    cursor = DriverCursor(connection, f"BEGIN {mode}" if mode else "BEGIN")
    try:
        yield cursor
        if cursor.begun:
            cursor.commit()  # statements sent with it may fail here: the transaction is then rolled back
    except BaseException:
        if cursor.begun:
            # A broken connection takes the transaction with it; the first error says why. After a failed
            # COMMIT there is no transaction left to roll back (PostgreSQL only warns).
            with suppress(Error):  # DatabaseError or InterfaceError ("cursor already closed")
                cursor.rollback()
        raise
