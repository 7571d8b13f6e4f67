"""Database upkeep that belongs at quiet moments rather than in a user's request."""

from __future__ import annotations

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper


def wal_checkpoint_now(*, using: str = "default") -> bool:
    """SQLite (the embedded default): copy the write-ahead log into the database now, at a quiet moment,
    and restart the log with a tiny write.

    Otherwise the commit that takes the log past its auto-checkpoint size does the copy (~10 ms here,
    fsync included), and the first commit after a checkpoint restarts the log (another fsync, ~15 ms
    here) — both on whatever the user is waiting for, a Ttadak press say. PASSIVE never waits for
    readers. PostgreSQL checkpoints in the background: nothing to do (False)."""
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        busy, log_frames, checkpointed = cursor.fetchone()
        if not busy and log_frames > 0 and log_frames == checkpointed:
            cursor.execute("PRAGMA user_version")
            cursor.execute(f"PRAGMA user_version = {int(cursor.fetchone()[0])}")  # rewrites page 1: log restarts
    return True


def leave_checkpoints_to_others(connection: BaseDatabaseWrapper) -> None:
    """SQLite: this connection's commits never copy the write-ahead log into the database themselves.

    The commit that takes the log past its auto-checkpoint size runs the checkpoint with its two fsyncs
    (~5 ms here): for a connection whose commits a user waits on (the Ttadak press) that is 1 commit in
    40. The process's other connections keep their auto-checkpoint, and `wal_checkpoint_now` runs at
    quiet moments, so the log stays bounded. PostgreSQL: nothing to do."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint = 0")
