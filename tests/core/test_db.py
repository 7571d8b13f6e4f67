"""Database upkeep (`core.db`)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from core.db import wal_checkpoint_now
from tests.factories import OrderFactory


@pytest.mark.django_db(transaction=True)
def test_the_embedded_database_checkpoints_its_log_on_request_and_postgres_has_nothing_to_do() -> None:
    with transaction.atomic():
        assert wal_checkpoint_now() is False  # never inside a transaction
    OrderFactory()
    if connection.vendor != "sqlite":
        assert wal_checkpoint_now() is False
        return
    assert wal_checkpoint_now() is True
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        busy, log_pages, checkpointed = cursor.fetchone()
    assert busy == 0 and log_pages == checkpointed  # nothing left in the log to copy
