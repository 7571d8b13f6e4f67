"""Writes: enqueue notifications (idempotent, inside the caller's transaction), and preferences.

    notification_enqueue(user=…, event=…, key=…, title=…, text=…)   # one notification
    notifications_enqueue_many([NotificationSpec(…), …])           # a batch (the tick engine's fills)

Each notification gets one OutboxMessage per destination the user wants for that event (linked chats,
e-mail). Rows are written in the caller's transaction — they commit or roll back with the business
change — and delivery is handed to a worker after commit (`outbox_dispatch`). A lost hand-off is caught
by the beat sweep. The hooks other apps call (bot events, fund subscriptions, simulations, orders that
need a person) are in notifications.hooks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, NotFound, ValidationError
from notifications import catalog, selectors
from notifications.models import (
    Channel,
    EventType,
    Notification,
    NotificationPreference,
    OutboxMessage,
    OutboxStatus,
)
from users.models import ChatIdentity, User

logger = logging.getLogger(__name__)

# ChatIdentity.notifications_off_reason values. Only a chat switched off as unreachable comes back by itself.
OFF_BY_USER = "user"
OFF_BY_OPERATOR = "operator"
OFF_UNREACHABLE = "unreachable"
KEPT_OFF = (OFF_BY_USER, OFF_BY_OPERATOR)

DISPATCH_CHUNK = 10  # message ids per delivery task (≤ 10 × the 15 s send timeout, well inside the task limit)
TITLE_MAX = 200
TEXT_MAX = 3500  # fits one Telegram message and one Slack section with room for the title


@dataclass(frozen=True)
class NotificationSpec:
    """What to tell one user. `buttons`: rows of {"label", "code", "args", "style"} naming core actions."""

    user_id: int
    event: str
    key: str
    title: str
    text: str
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def button(label: str, code: str, *args: object, style: str = "") -> dict[str, Any]:
    """A button spec for a notification: a chat core action (chat.registry), signed when delivered."""
    return {"label": label, "code": code, "args": [str(arg) for arg in args], "style": style}


def notification_enqueue(
    *,
    user: User,
    event: str,
    key: str,
    title: str,
    text: str,
    buttons: list[list[dict[str, Any]]] | None = None,
    data: dict[str, Any] | None = None,
) -> Notification:
    """Tell `user` about `event`. Idempotent on `key`: the second call returns the first notification."""
    spec = NotificationSpec(
        user_id=user.pk, event=event, key=key, title=title, text=text, buttons=buttons or [], data=data or {}
    )
    return notifications_enqueue_many([spec])[0]


def _check(spec: NotificationSpec) -> None:
    # Programming errors, not user input: fail loudly in the caller's tests.
    if spec.event not in EventType.values:
        raise ValueError(f"unknown notification event {spec.event!r}")
    if not spec.key or len(spec.key) > 200:
        raise ValueError(f"notification key must be 1-200 characters, got {spec.key!r}")


@transaction.atomic
def notifications_enqueue_many(specs: Sequence[NotificationSpec]) -> list[Notification]:
    """Enqueue a batch with a handful of queries, whatever its size. Returns the notifications in order
    (existing ones for keys seen before). Never raises on a duplicate: the caller's transaction is safe."""
    if not specs:
        return []
    for spec in specs:
        _check(spec)
    user_ids = {spec.user_id for spec in specs}
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=spec.user_id,
                event=spec.event,
                key=spec.key,
                title=spec.title[:TITLE_MAX],
                text=spec.text[:TEXT_MAX],
                buttons=spec.buttons,
                data=spec.data,
                critical=catalog.is_critical(spec.event),
            )
            for spec in specs
        ],
        ignore_conflicts=True,  # a key seen before (a retried task) creates nothing
    )
    by_key = {
        (row.user_id, row.key): row
        for row in Notification.objects.filter(user_id__in=user_ids, key__in={spec.key for spec in specs})
    }
    notifications = [by_key[(spec.user_id, spec.key)] for spec in specs]
    messages = _outbox_rows(notifications, user_ids)
    if messages:
        OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
        ids = list(
            OutboxMessage.objects.filter(
                dedupe_key__in=[m.dedupe_key for m in messages], status=OutboxStatus.PENDING
            ).values_list("id", flat=True)
        )
        _dispatch_on_commit(ids)
    return notifications


def _outbox_rows(notifications: list[Notification], user_ids: set[int]) -> list[OutboxMessage]:
    overrides = selectors.preference_overrides_for_users(user_ids=user_ids)
    identities = selectors.notification_identities_for_users(user_ids=user_ids)
    emails = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "email"))
    now = timezone.now()
    rows: list[OutboxMessage] = []
    seen: set[int] = set()
    for notification in notifications:
        if notification.pk in seen:
            continue
        seen.add(notification.pk)
        wants = overrides.get(notification.user_id, {})
        for identity in identities.get(notification.user_id, []):
            channel = identity.surface
            wanted = selectors.preference_enabled(wants, notification.event, channel)
            if wanted and selectors.channel_configured(channel):
                rows.append(_row(notification, channel, selectors.chat_address(identity), now, identity=identity))
        email = emails.get(notification.user_id) or ""
        if email and selectors.preference_enabled(wants, notification.event, Channel.EMAIL):
            rows.append(_row(notification, Channel.EMAIL, email, now))
    return rows


def _row(
    notification: Notification, channel: str, address: str, now, *, identity: ChatIdentity | None = None
) -> OutboxMessage:
    target = f"identity{identity.pk}" if identity is not None else "email"
    return OutboxMessage(
        notification=notification,
        channel=channel,
        identity=identity,
        address=address[:254],
        dedupe_key=f"{notification.pk}:{channel}:{target}",
        next_attempt_at=now,
    )


# --- hand-off to the worker ---------------------------------------------------------------------------


def _dispatch_on_commit(message_ids: list[int]) -> None:
    if message_ids:
        # robust: a broker hiccup after commit is logged; the sweep delivers the rows anyway.
        transaction.on_commit(lambda: outbox_dispatch(message_ids=message_ids), robust=True)


def outbox_dispatch(*, message_ids: list[int]) -> None:
    """Start delivering these messages: a Celery task per chunk (NOTIFICATIONS_DISPATCH=celery), or right
    here (=inline: tests, single-process demos). Safe to call twice: delivery claims each row once."""
    if settings.NOTIFICATIONS_DISPATCH == "inline":
        from notifications.delivery import outbox_message_deliver

        for message_id in message_ids:
            outbox_message_deliver(message_id=message_id)
        return
    from tasks.app import app

    for start in range(0, len(message_ids), DISPATCH_CHUNK):
        chunk = message_ids[start : start + DISPATCH_CHUNK]
        try:
            app.send_task("tasks.notifications.outbox_deliver", args=[chunk])
        except Exception:  # noqa: BLE001 - the rows are committed; the sweep picks them up
            logger.warning("could not hand %d notification(s) to the broker; the sweep will send them", len(chunk))


# --- preferences ----------------------------------------------------------------------------------------


def _clean_changes(changes: object) -> list[tuple[str, str, bool]]:
    if not isinstance(changes, dict):
        raise ValidationError("Preferences must map events to channels.", field="events")
    cleaned: list[tuple[str, str, bool]] = []
    for event, channels in changes.items():
        if event not in EventType.values:
            raise ValidationError(
                f"Unknown event {str(event)[:40]!r}. Known events: {', '.join(EventType.values)}.", field="events"
            )
        if not isinstance(channels, dict):
            raise ValidationError(f"{event}: give channels as {{\"telegram\": true, …}}.", field=f"events.{event}")
        for channel, enabled in channels.items():
            if channel not in Channel.values:
                raise ValidationError(
                    f"Unknown channel {str(channel)[:40]!r} for {event}. Channels: {', '.join(Channel.values)}.",
                    field=f"events.{event}",
                )
            if not isinstance(enabled, bool):
                raise ValidationError(f"{event}.{channel} must be true or false.", field=f"events.{event}.{channel}")
            cleaned.append((event, channel, enabled))
    return cleaned


@transaction.atomic
def notification_preferences_update(*, user: User, changes: dict[str, dict[str, bool]]) -> selectors.Preferences:
    """Turn events on or off per channel: `{"bot_started": {"telegram": false}, "bot_error": {"email": true}}`.

    Only the named pairs change. A choice equal to the default is stored anyway, so later changes of the
    defaults never override what the user picked.
    """
    for event, channel, enabled in _clean_changes(changes):
        NotificationPreference.objects.update_or_create(
            user=user, event=event, channel=channel, defaults={"enabled": enabled}
        )
    return selectors.notification_preferences_get(user=user)


@transaction.atomic
def notification_settings_update(
    *,
    user: User,
    events: dict[str, dict[str, bool]] | None = None,
    destinations: dict[int, bool] | None = None,
) -> selectors.Preferences:
    """The API's PATCH: event switches and per-chat switches in one transaction (all or nothing)."""
    if events:
        notification_preferences_update(user=user, changes=events)
    for identity_id, enabled in (destinations or {}).items():
        notification_destination_set(user=user, identity_id=identity_id, enabled=enabled)
    return selectors.notification_preferences_get(user=user)


def notification_preference_set(*, user: User, event: str, channel: str, enabled: bool) -> selectors.Preferences:
    """One switch (the chat screen's toggle button)."""
    return notification_preferences_update(user=user, changes={event: {channel: enabled}})


@transaction.atomic
def notification_destination_set(*, user: User, identity_id: int, enabled: bool) -> ChatIdentity:
    """Switch all notifications to one linked chat on or off (e.g. back on after unblocking the bot)."""
    identity = (
        ChatIdentity.objects.select_for_update()
        .filter(pk=identity_id if isinstance(identity_id, int) and 0 < identity_id < 2**62 else 0, user=user)
        .first()
    )
    if identity is None or identity.surface not in selectors.PUSH_SURFACES:
        raise NotFound("No such linked chat.")
    reason = "" if enabled else OFF_BY_USER
    if identity.notifications_enabled != enabled or identity.notifications_off_reason != reason:
        identity.notifications_enabled = enabled
        identity.notifications_off_reason = reason
        identity.save(update_fields=["notifications_enabled", "notifications_off_reason", "updated_at"])
    if not enabled:
        _cancel_pending_for_identity(identity.pk, reason="notifications to this chat were switched off")
    return identity


def notification_identity_reachable(*, identity: ChatIdentity) -> bool:
    """The user wrote to the bot again: notifications to this chat resume if a delivery error had switched
    them off (Telegram: the bot was blocked, then unblocked). Returns True when it switched them on.

    A chat the user muted (or an operator switched off) stays off. Called by chat.engine.session_open for
    every update; cheap when nothing changes (no query at all)."""
    if identity.notifications_enabled or not identity.pk or identity.notifications_off_reason in KEPT_OFF:
        return False
    updated = (
        ChatIdentity.objects.filter(pk=identity.pk, notifications_enabled=False)
        .exclude(notifications_off_reason__in=KEPT_OFF)
        .update(notifications_enabled=True, notifications_off_reason="", updated_at=timezone.now())
    )
    if updated:
        identity.notifications_enabled, identity.notifications_off_reason = True, ""
    return bool(updated)


def _cancel_pending_for_identity(identity_id: int, *, reason: str) -> int:
    return OutboxMessage.objects.filter(identity_id=identity_id, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.CANCELLED, last_error=reason[:500], updated_at=timezone.now()
    )


@transaction.atomic
def outbox_message_retry(*, message_id: int) -> OutboxMessage:
    """Operator: send a failed (or cancelled) message again now. A sent one is never resent."""
    message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
    if message is None:
        raise NotFound("No such outbox message.")
    if message.status not in (OutboxStatus.FAILED, OutboxStatus.CANCELLED):
        raise Conflict(f"Only failed or cancelled messages can be retried (this one is {message.status}).")
    message.status, message.attempts, message.next_attempt_at = OutboxStatus.PENDING, 0, timezone.now()
    message.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
    _dispatch_on_commit([message.pk])
    return message
