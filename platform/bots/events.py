"""Bot events: the one place where "something happened to a bot" is recorded.

Everything the runtime wants a user to hear about (started, stopped, error, order filled, trade
closed, protection triggered, signal) goes through `bot_event_record` / `bot_events_record_many`.
The rows are the bot's history (monitoring shows them). Notification delivery hooks in through the
`bot_events_recorded` signal, sent inside the caller's transaction with the saved rows, so an outbox
written by a receiver commits or rolls back together with the event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import django.dispatch
from django.db import transaction

from bots.models import BotEvent, BotEventKind

# Sent with `events: list[BotEvent]` (already saved, same transaction). Receivers must be fast and
# must not do network I/O: write an outbox row and let a task deliver it.
bot_events_recorded = django.dispatch.Signal()

MESSAGE_MAX = 500


@dataclass(frozen=True)
class EventSpec:
    subscribed_bot_id: int
    kind: str
    message: str
    run_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def bot_event_record(
    *,
    subscribed_bot_id: int,
    kind: str,
    message: str,
    run_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> BotEvent:
    """Record one event for a subscribed bot; `message` is user-facing and must hold no secrets."""
    return bot_events_record_many(
        [EventSpec(subscribed_bot_id=subscribed_bot_id, kind=kind, message=message, run_id=run_id, data=data or {})]
    )[0]


@transaction.atomic
def bot_events_record_many(specs: Sequence[EventSpec]) -> list[BotEvent]:
    """Record several events with one INSERT (the tick engine records fills of a whole batch at once)."""
    if not specs:
        return []
    for spec in specs:
        if spec.kind not in BotEventKind.values:
            raise ValueError(f"unknown bot event kind {spec.kind!r}")
    rows = [
        BotEvent(
            subscribed_bot_id=spec.subscribed_bot_id,
            run_id=spec.run_id,
            kind=spec.kind,
            message=spec.message[:MESSAGE_MAX],
            data=spec.data,
        )
        for spec in specs
    ]
    created = BotEvent.objects.bulk_create(rows)
    bot_events_recorded.send(sender=BotEvent, events=created)
    return created
