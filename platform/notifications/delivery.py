"""Delivering the outbox: claim a row, send it, record the outcome. Never sends a row twice on purpose.

    outbox_message_deliver(message_id=…)  # the task after commit
    outbox_sweep()                        # beat: due rows and expired leases, in bounded batches

A row is claimed by moving it pending → sending with a lease, in a short transaction of its own
(`select_for_update(skip_locked=True)` on PostgreSQL, so concurrent workers pass each other; SQLite
serialises writers, and the claim is a compare-and-set on the status either way). Only the holder of the
lease records the outcome. A worker that dies mid-send leaves a `sending` row whose lease runs out; the
sweep then decides (README "Notifications"): critical events are sent again (at-least-once), others are
marked `unknown` and never resent (at-most-once) — Telegram and Slack have no idempotency key, so
"maybe sent" cannot be checked.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.log_redaction import redact
from notifications.models import Channel, OutboxMessage, OutboxStatus
from notifications.senders import Ambiguous, Permanent, RateLimited, Temporary

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)  # well above one send's timeout (15 s)
MAX_ATTEMPTS = 8  # temporary failures before a row is failed (rate-limited tries do not count)
BACKOFF_BASE_SECONDS = 10
BACKOFF_MAX_SECONDS = 30 * 60
RATE_LIMIT_MAX_AGE = timedelta(hours=24)  # a row rate-limited for a whole day is given up
SWEEP_BATCH = 100
SWEEP_SECONDS = 60  # one sweep stops claiming after this much work; the next beat continues


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter: ~10 s, 20 s, 40 s … capped at 30 min, each ±25 %."""
    base = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return base * random.uniform(0.75, 1.25)


# --- claim ----------------------------------------------------------------------------------------------


def _claim(queryset, now: datetime) -> OutboxMessage | None:
    """Lock one due pending row (skipping rows other workers hold) and move it to sending with a lease."""
    with transaction.atomic():
        row = queryset.select_for_update(skip_locked=True).filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id").first()
        if row is None:
            return None
        row.status, row.lease_until, row.attempts = OutboxStatus.SENDING, now + LEASE, row.attempts + 1
        row.save(update_fields=["status", "lease_until", "attempts", "updated_at"])
    return row


def outbox_message_deliver(*, message_id: int) -> OutboxMessage | None:
    """Send one message if it is pending and due; None when someone else has it or it is done/not due."""
    row = _claim(OutboxMessage.objects.filter(pk=message_id), timezone.now())
    return _send(row) if row is not None else None


def outbox_sweep(*, batch: int = SWEEP_BATCH, seconds: float = SWEEP_SECONDS) -> dict[str, int]:
    """Beat: settle sends whose lease ran out, then send due rows until `batch` or `seconds` is used up."""
    counts = {"recovered": outbox_leases_recover(limit=batch), "sent": 0, "failed": 0, "retry": 0}
    deadline = time.monotonic() + seconds
    for _ in range(batch):
        if time.monotonic() > deadline:
            break
        row = _claim(OutboxMessage.objects.all(), timezone.now())
        if row is None:
            break
        row = _send(row)
        if row.status == OutboxStatus.SENT:
            counts["sent"] += 1
        elif row.status == OutboxStatus.PENDING:
            counts["retry"] += 1
        else:
            counts["failed"] += 1
    return counts


def outbox_leases_recover(*, limit: int = SWEEP_BATCH) -> int:
    """Rows stuck in `sending` past their lease (the worker died or hung mid-send).

    Critical events go back to pending (sent again: a duplicate is better than a missed alert about
    money); others become `unknown` — maybe delivered, never resent."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=OutboxStatus.SENDING, lease_until__lt=now)
            .select_related("notification")
            .order_by("lease_until")[:limit]
        )
        critical = [row.pk for row in rows if row.notification.critical]
        other = [row.pk for row in rows if not row.notification.critical]
        if critical:
            OutboxMessage.objects.filter(pk__in=critical).update(
                status=OutboxStatus.PENDING, lease_until=None, next_attempt_at=now, updated_at=now,
                last_error="interrupted mid-send; sent again because the event is critical",
            )
        if other:
            OutboxMessage.objects.filter(pk__in=other).update(
                status=OutboxStatus.UNKNOWN, lease_until=None, updated_at=now,
                last_error="interrupted mid-send; may have arrived, not resent",
            )
    if rows:
        logger.warning("outbox: %d interrupted send(s) settled (%d resent)", len(rows), len(critical))
    return len(rows)


# --- send and record ------------------------------------------------------------------------------------


def _send(row: OutboxMessage) -> OutboxMessage:
    row = OutboxMessage.objects.select_related("notification__user", "identity").get(pk=row.pk)
    skip = _skip_reason(row)
    if skip:
        return _record(row, status=OutboxStatus.CANCELLED, error=skip)
    try:
        external_id = _deliver(row)
    except RateLimited as error:
        return _rate_limited(row, error)
    except Permanent as error:
        return _permanent(row, error)
    except Ambiguous as error:
        if row.notification.critical:
            return _retry_or_fail(row, str(error))
        return _record(row, status=OutboxStatus.UNKNOWN, error=f"{error}; may have arrived, not resent")
    except Temporary as error:
        return _retry_or_fail(row, str(error))
    except Exception as error:  # noqa: BLE001 - a bug in rendering must not leave the row leased forever
        logger.exception("outbox message %s: unexpected error", row.pk)
        return _retry_or_fail(row, f"unexpected {type(error).__name__}")
    return _record(row, status=OutboxStatus.SENT, external_id=external_id)


def _skip_reason(row: OutboxMessage) -> str:
    if row.channel == Channel.EMAIL:
        return "" if row.notification.user.email else "the user has no e-mail address any more"
    if row.identity is None:
        return "the chat was unlinked"
    if not row.identity.notifications_enabled:
        return "notifications to this chat are switched off"
    return ""


def _deliver(row: OutboxMessage) -> str:
    from notifications import senders
    from notifications.rendering import email_body, notification_screen
    from notifications.selectors import channel_configured, chat_address

    notification = row.notification
    if not channel_configured(row.channel):
        raise Temporary(f"{row.channel} is not configured on this server")
    if row.channel == Channel.EMAIL:
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"
        return senders.email_send(
            address=notification.user.email,
            subject=notification.title,
            body=email_body(notification),
            message_id=f"<ldp-notification-{row.pk}@{domain}>",
        )
    identity = row.identity
    screen = notification_screen(notification, surface=identity.surface, external_user_id=identity.external_user_id)
    if row.channel == Channel.TELEGRAM:
        return senders.telegram_send(chat_id=chat_address(identity), screen=screen)
    return senders.slack_send(channel=chat_address(identity), screen=screen)


def _record(row: OutboxMessage, *, status: str, error: str = "", external_id: str = "",
            next_attempt_at: datetime | None = None, attempts: int | None = None) -> OutboxMessage:
    """Write the outcome — only if we still hold the lease (a late worker never overwrites a newer state)."""
    now = timezone.now()
    error = _without_secrets(error)
    changes = {"status": status, "lease_until": None, "last_error": error[:500], "updated_at": now}
    if status == OutboxStatus.SENT:
        changes.update(external_id=external_id[:64], sent_at=now)
    if next_attempt_at is not None:
        changes["next_attempt_at"] = next_attempt_at
    if attempts is not None:
        changes["attempts"] = attempts
    held = OutboxMessage.objects.filter(pk=row.pk, status=OutboxStatus.SENDING, lease_until=row.lease_until)
    if not held.update(**changes):
        logger.warning("outbox message %s: lease lost before the outcome (%s) was recorded", row.pk, status)
        row.refresh_from_db()
        return row
    for name, value in changes.items():
        setattr(row, name, value)
    if status != OutboxStatus.SENT:
        logger.info("outbox message %s (%s): %s — %s", row.pk, row.channel, status, error)
    return row


def _without_secrets(text: str) -> str:
    """Error texts are stored and shown in the admin: no bot token or password may survive in them (an HTTP
    client's error can quote the request URL, and Telegram's URL carries the token)."""
    for secret in (settings.TELEGRAM_BOT_TOKEN, settings.SLACK_BOT_TOKEN, settings.EMAIL_HOST_PASSWORD):
        if secret:
            text = text.replace(secret, "[redacted]")
    return redact(text)


def _retry_or_fail(row: OutboxMessage, error: str) -> OutboxMessage:
    if row.attempts >= MAX_ATTEMPTS:
        return _record(row, status=OutboxStatus.FAILED, error=f"gave up after {row.attempts} attempts: {error}")
    return _record(row, status=OutboxStatus.PENDING, error=error,
                   next_attempt_at=timezone.now() + timedelta(seconds=backoff_seconds(row.attempts)))


def _rate_limited(row: OutboxMessage, error: RateLimited) -> OutboxMessage:
    """Come back exactly when the service said; the try does not count against the attempt budget, and
    the channel's other pending rows wait too (Telegram's flood limit and Slack's are per bot/app)."""
    now = timezone.now()
    if now - row.created_at > RATE_LIMIT_MAX_AGE:
        return _record(row, status=OutboxStatus.FAILED, error=f"still rate limited after a day: {error}")
    resume = now + timedelta(seconds=error.retry_after)
    recorded = _record(row, status=OutboxStatus.PENDING, error=str(error), next_attempt_at=resume,
                       attempts=max(0, row.attempts - 1))
    OutboxMessage.objects.filter(
        channel=row.channel, status=OutboxStatus.PENDING, next_attempt_at__lt=resume
    ).update(next_attempt_at=resume, updated_at=now)
    return recorded


def _permanent(row: OutboxMessage, error: Permanent) -> OutboxMessage:
    recorded = _record(row, status=OutboxStatus.FAILED, error=str(error))
    if error.unreachable and row.identity_id is not None:
        _identity_unreachable(row.identity_id, reason=str(error))
    return recorded


def _identity_unreachable(identity_id: int, *, reason: str) -> None:
    """The chat is gone (bot blocked, channel not found): stop sending there until the user is back."""
    from notifications.services import KEPT_OFF, OFF_UNREACHABLE
    from users.models import ChatIdentity

    now = timezone.now()
    with transaction.atomic():
        # A chat the user had muted stays muted: only "unreachable" comes back on when they write again.
        ChatIdentity.objects.filter(pk=identity_id).exclude(notifications_off_reason__in=KEPT_OFF).update(
            notifications_enabled=False, notifications_off_reason=OFF_UNREACHABLE, updated_at=now
        )
        cancelled = OutboxMessage.objects.filter(identity_id=identity_id, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.CANCELLED, last_error=f"chat unreachable: {reason}"[:500], updated_at=now
        )
    logger.warning("chat identity %s unreachable (%s): notifications off, %d pending cancelled",
                   identity_id, reason, cancelled)

