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


@pytest.mark.django_db(transaction=True)
def test_a_connection_that_leaves_checkpoints_to_others_never_checkpoints_in_its_commits() -> None:
    from pathlib import Path

    from core.db import leave_checkpoints_to_others

    leave_checkpoints_to_others(connection)  # PostgreSQL: nothing to do, nothing changes
    if connection.vendor != "sqlite":
        return
    page = 4096
    log = Path(connection.settings_dict["NAME"] + "-wal")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA page_size")
        page = cursor.fetchone()[0]
        cursor.execute("CREATE TABLE wal_probe (blob BLOB)")
        for _ in range(1200):  # ~1,200 pages of log: past the auto-checkpoint size of 1,000
            cursor.execute("INSERT INTO wal_probe VALUES (zeroblob(%s))", [page - 100])
        assert log.stat().st_size > 1100 * page  # the log only grew: no commit copied it and restarted it
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == 0
        cursor.execute("DROP TABLE wal_probe")
    wal_checkpoint_now()  # a quiet moment: copied and restarted
