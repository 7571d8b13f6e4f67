"""INSERT model instances with the statement compiled once, for hot paths where Django compiling the
query on every call costs more than running it (the Ttadak press writes three rows while a user waits).

Values go through each field's own `pre_save` and `get_db_prep_save`, as `Model.save()` and
`bulk_create()` do (auto_now, defaults, JSON, decimals, time zones), so the rows are the ORM's rows; a
test compares them. No signals are sent (bulk_create sends none either): use it only for models whose
inserts have no receivers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import connections
from django.db.models import Field, Model


@cache
def _statement(model: type[Model], rows: int, vendor: str, using: str) -> tuple[str, tuple[Field, ...]]:
    connection = connections[using]
    meta = model._meta
    fields = tuple(field for field in meta.local_concrete_fields if field is not meta.auto_field)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returning, _ = connection.ops.return_insert_columns([meta.pk])
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)} {returning}"
    return sql, fields


def insert_returning_pk(objects: Sequence[Model], *, using: str = "default") -> None:
    """INSERT `objects` (all of one model, primary keys unset) in one statement; sets their pk.

    Must run inside the caller's transaction when it is part of one; raises IntegrityError like save()."""
    if not objects:
        return
    model = type(objects[0])
    connection = connections[using]
    sql, fields = _statement(model, len(objects), connection.vendor, using)
    params: list[object] = []
    for obj in objects:
        if type(obj) is not model or obj.pk is not None:
            raise ValueError("insert_returning_pk takes new objects of one model")
        params.extend(field.get_db_prep_save(field.pre_save(obj, True), connection=connection) for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [row[0] for row in cursor.fetchall()]
    if len(keys) != len(objects):
        raise RuntimeError(f"INSERT returned {len(keys)} keys for {len(objects)} rows")
    for obj, key in zip(objects, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = using
