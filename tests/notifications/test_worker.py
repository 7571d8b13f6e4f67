"""The outbox through the real broker: committed → task → a Celery worker in another process → Telegram."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from notifications import delivery, services
from notifications.models import EventType, OutboxMessage, OutboxStatus
from tasks.system import worker_heartbeat
from tests.notifications.conftest import investor


@pytest.fixture
def notification_worker(telegram_api, monkeypatch, settings, request):
    """A worker whose Telegram settings point at the emulator; commits hand the outbox to Celery."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", telegram_api.token)
    monkeypatch.setenv("TELEGRAM_API_BASE", telegram_api.base_url)
    settings.NOTIFICATIONS_DISPATCH = "celery"
    return request.getfixturevalue("celery_worker_process")


def _wait_until_final(message_id: int, timeout: float = 60.0) -> OutboxMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = OutboxMessage.objects.get(pk=message_id)
        if message.status not in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            return message
        time.sleep(0.1)
    raise AssertionError(f"the worker did not deliver outbox message {message_id}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_a_committed_notification_exactly_once(notification_worker, telegram_api) -> None:
    user, identities = investor(email="")
    with transaction.atomic():
        notification = services.notification_enqueue(
            user=user, event=EventType.BOT_STOPPED, key="bot_event:1", title="Bot 1: Bot stopped", text="Stopped.",
        )
        message_id = notification.messages.get().pk
        assert telegram_api.calls_of("sendMessage") == []  # nothing leaves before commit

    message = _wait_until_final(message_id)
    assert message.status == OutboxStatus.SENT and message.attempts == 1
    [shown] = telegram_api.sent(identities["telegram"].chat_id)
    assert message.external_id == str(shown.message_id)

    # A redelivered task and the beat sweep find nothing left to send.
    services.outbox_dispatch(message_ids=[message_id])
    worker_heartbeat.delay(note="after redelivery").get(timeout=60)  # the solo worker ran the task before this
    assert delivery.outbox_sweep()["sent"] == 0
    assert len(telegram_api.calls_of("sendMessage")) == 1
