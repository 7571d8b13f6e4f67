"""Notification delivery tasks: thin wrappers over notifications.delivery (which is idempotent per row)."""

from __future__ import annotations

from tasks.app import app


@app.task(name="tasks.notifications.outbox_deliver", ignore_result=True)
def outbox_deliver(message_ids: list[int]) -> int:
    """Deliver the messages enqueued by one commit. A row someone else claimed or already sent is skipped;
    a row not sent now keeps its next_attempt_at and the sweep takes it from there (no Celery retry, so
    one row never has two retry schedules)."""
    from notifications.delivery import outbox_message_deliver

    done = 0
    for message_id in message_ids:
        if isinstance(message_id, int) and outbox_message_deliver(message_id=message_id) is not None:
            done += 1
    return done


@app.task(name="tasks.notifications.outbox_sweep", ignore_result=True)
def outbox_sweep() -> dict[str, int]:
    """Beat: settle interrupted sends, then deliver due rows in a bounded batch."""
    from notifications.delivery import outbox_sweep as sweep

    return sweep()
