"""INSERT model instances with the statement compiled once, for hot paths where Django compiling the
query on every call costs more than running it (the Ttadak press writes three rows while a user waits).

Values go through each field's own `pre_save` and `get_db_prep_save`, as `Model.save()` and
`bulk_create()` do (auto_now, defaults, JSON, decimals, time zones), so the rows are the ORM's rows; a
test compares them. No signals are sent (bulk_create sends none either): use it only for models whose
inserts have no receivers.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from functools import cache

from django.db import connections
from django.db.models import Field, Model


class _Statement:
    """The compiled INSERT of `rows` rows of a model, and what makes preparing its values cheap."""

    def __init__(self, model: type[Model], rows: int, using: str):
        connection = connections[using]
        meta = model._meta
        self.fields = tuple(field for field in meta.local_concrete_fields if field is not meta.auto_field)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in self.fields)
        row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        returning, _ = connection.ops.return_insert_columns([meta.pk])
        self.sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)} {returning}"
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
def _statement(model: type[Model], rows: int, vendor: str, using: str) -> _Statement:
    return _Statement(model, rows, using)


def insert_returning_pk(objects: Sequence[Model], *, using: str = "default") -> None:
    """INSERT `objects` (all of one model, primary keys unset) in one statement; sets their pk.

    Must run inside the caller's transaction when it is part of one; raises IntegrityError like save()."""
    if not objects:
        return
    model = type(objects[0])
    connection = connections[using]
    for obj in objects:
        if type(obj) is not model or obj.pk is not None:
            raise ValueError("insert_returning_pk takes new objects of one model")
    statement = _statement(model, len(objects), connection.vendor, using)
    params = statement.params(objects, connection)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        keys = [row[0] for row in cursor.fetchall()]
    if len(keys) != len(objects):
        raise RuntimeError(f"INSERT returned {len(keys)} keys for {len(objects)} rows")
    for obj, key in zip(objects, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = using

