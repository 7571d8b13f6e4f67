"""Delivery against the local Telegram Bot API emulator and Slack recorder with the real clients (aiogram,
slack_sdk) and Django's locmem mail backend: sent once, 429s honoured, backoff, permanent failures."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from chat import payloads
from notifications import delivery, senders, services
from notifications.models import Channel, EventType, OutboxMessage, OutboxStatus
from tests.notifications.conftest import investor
from users.models import ChatIdentity

pytestmark = pytest.mark.django_db


def _enqueue(user, key: str = "k1", event: str = EventType.BOT_STARTED, buttons=None):
    return services.notification_enqueue(
        user=user, event=event, key=key, title="Bot 1: Bot started", text="Bot 1 started (Dry-run, BTC/USDT 1h).",
        buttons=buttons if buttons is not None else [[services.button("Open bot", "b", 7)]],
    )


def _message(notification, channel: str = Channel.TELEGRAM) -> OutboxMessage:
    return notification.messages.get(channel=channel)


def _deliver(message: OutboxMessage) -> OutboxMessage:
    delivery.outbox_message_deliver(message_id=message.pk)
    message.refresh_from_db()
    return message


def _time_passes(message: OutboxMessage) -> None:
    """The clock reaches the message's next attempt (instead of sleeping through it)."""
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


# --- Telegram -------------------------------------------------------------------------------------------


def test_telegram_message_is_sent_with_signed_buttons_and_recorded(telegram_api) -> None:
    user, identities = investor(telegram=True)
    message = _deliver(_message(_enqueue(user)))

    assert message.status == OutboxStatus.SENT and message.sent_at is not None and message.attempts == 1
    [shown] = telegram_api.sent(identities["telegram"].chat_id)
    assert shown.text == "Bot 1: Bot started\nBot 1 started (Dry-run, BTC/USDT 1h)."
    assert message.external_id == str(shown.message_id)
    data = shown.button("Open bot")["callback_data"]
    assert data.startswith("a:")
    decoded = payloads.decode(data.removeprefix("a:"), owner_id=user.pk)
    assert (decoded.code, decoded.args) == ("b", ("7",))


def test_a_message_is_never_sent_twice(telegram_api) -> None:
    user, _ = investor()
    message = _message(_enqueue(user))
    assert delivery.outbox_message_deliver(message_id=message.pk) is not None
    assert delivery.outbox_message_deliver(message_id=message.pk) is None
    services.outbox_dispatch(message_ids=[message.pk, message.pk])
    delivery.outbox_sweep()
    assert len(telegram_api.calls_of("sendMessage")) == 1


def test_a_message_another_worker_is_sending_is_left_alone(telegram_api) -> None:
    user, _ = investor()
    message = _message(_enqueue(user))
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.SENDING, lease_until=timezone.now() + timedelta(minutes=1)
    )
    assert delivery.outbox_message_deliver(message_id=message.pk) is None
    assert delivery.outbox_sweep()["sent"] == 0
    assert telegram_api.calls_of("sendMessage") == []


def test_buttons_of_actions_the_chat_does_not_know_are_left_out(telegram_api) -> None:
    user, identities = investor()
    buttons = [[services.button("Ghost", "no-such-action")], [services.button("Open bot", "b", 7)]]
    _deliver(_message(_enqueue(user, buttons=buttons)))
    [shown] = telegram_api.sent(identities["telegram"].chat_id)
    assert [button["text"] for button in shown.buttons] == ["Open bot"]


def test_telegram_429_waits_exactly_retry_after_without_using_up_attempts(telegram_api) -> None:
    user, _ = investor()
    message = _message(_enqueue(user, "a"))
    other = _message(_enqueue(user, "b"))
    telegram_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)

    before = timezone.now()
    message = _deliver(message)
    after = timezone.now()

    assert message.status == OutboxStatus.PENDING and message.attempts == 0
    assert before + timedelta(seconds=7) <= message.next_attempt_at <= after + timedelta(seconds=7)
    assert "429" in message.last_error
    other.refresh_from_db()  # the bot's flood limit holds for its other messages too
    assert other.next_attempt_at >= message.next_attempt_at
    assert delivery.outbox_message_deliver(message_id=message.pk) is None  # not before retry_after
    assert len(telegram_api.calls_of("sendMessage")) == 1

    _time_passes(message)
    assert _deliver(message).status == OutboxStatus.SENT
    assert len(telegram_api.calls_of("sendMessage")) == 2


def test_server_errors_back_off_exponentially_then_give_up(telegram_api) -> None:
    user, _ = investor()
    message = _message(_enqueue(user))
    waits = []
    for _ in range(delivery.MAX_ATTEMPTS):
        telegram_api.fail_next("sendMessage", 502, "Bad Gateway")
        start = timezone.now()
        message = _deliver(message)
        if message.status == OutboxStatus.FAILED:
            break
        assert message.status == OutboxStatus.PENDING
        waits.append((message.next_attempt_at - start).total_seconds())
        _time_passes(message)

    assert message.status == OutboxStatus.FAILED and message.attempts == delivery.MAX_ATTEMPTS
    assert message.last_error.startswith(f"gave up after {delivery.MAX_ATTEMPTS} attempts")
    # ~10 s, 20 s, 40 s … (±25 % jitter), capped.
    for attempt, wait in enumerate(waits, start=1):
        base = min(delivery.BACKOFF_MAX_SECONDS, delivery.BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        assert base * 0.75 - 1 <= wait <= base * 1.25 + 1
    assert len(telegram_api.calls_of("sendMessage")) == delivery.MAX_ATTEMPTS


@pytest.mark.parametrize(
    "description", ["Forbidden: bot was blocked by the user", "Forbidden: user is deactivated"]
)
def test_blocked_bot_fails_the_message_and_switches_the_chat_off(telegram_api, description: str) -> None:
    user, identities = investor()
    first, second = _message(_enqueue(user, "a")), _message(_enqueue(user, "b"))
    telegram_api.fail_next("sendMessage", 403, description)

    first = _deliver(first)
    assert first.status == OutboxStatus.FAILED and "403" in first.last_error
    identity = ChatIdentity.objects.get(pk=identities["telegram"].pk)
    assert (identity.notifications_enabled, identity.notifications_off_reason) == (False, "unreachable")
    second.refresh_from_db()
    assert second.status == OutboxStatus.CANCELLED
    assert list(_enqueue(user, "c").messages.all()) == []
    assert len(telegram_api.calls_of("sendMessage")) == 1


def test_chat_not_found_switches_the_chat_off_but_a_malformed_message_does_not(telegram_api) -> None:
    user, identities = investor()
    telegram_api.fail_next("sendMessage", 400, "Bad Request: can't parse entities")
    assert _deliver(_message(_enqueue(user, "a"))).status == OutboxStatus.FAILED
    assert ChatIdentity.objects.get(pk=identities["telegram"].pk).notifications_enabled is True

    telegram_api.fail_next("sendMessage", 400, "Bad Request: chat not found")
    assert _deliver(_message(_enqueue(user, "b"))).status == OutboxStatus.FAILED
    assert ChatIdentity.objects.get(pk=identities["telegram"].pk).notifications_enabled is False


@pytest.fixture
def silent_server(monkeypatch, settings) -> Iterator[str]:
    """A Bot API address that accepts the connection and never answers (a hung request)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    monkeypatch.setattr(senders, "SEND_TIMEOUT_SECONDS", 0.5)
    settings.TELEGRAM_API_BASE = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        yield settings.TELEGRAM_API_BASE
    finally:
        listener.close()


def test_a_timed_out_send_of_a_routine_event_is_not_resent(telegram_api, silent_server) -> None:
    user, _ = investor()
    message = _deliver(_message(_enqueue(user, event=EventType.BOT_STARTED)))
    assert message.status == OutboxStatus.UNKNOWN
    assert "may have arrived" in message.last_error


def test_a_timed_out_send_of_a_critical_event_is_retried(telegram_api, silent_server) -> None:
    user, _ = investor()
    message = _deliver(_message(_enqueue(user, event=EventType.BOT_ERROR)))
    assert message.status == OutboxStatus.PENDING and message.next_attempt_at > timezone.now()


def test_connection_refused_is_retried_for_any_event(telegram_api, settings) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        settings.TELEGRAM_API_BASE = f"http://127.0.0.1:{probe.getsockname()[1]}"
    user, _ = investor()
    message = _deliver(_message(_enqueue(user, event=EventType.BOT_STARTED)))
    assert message.status == OutboxStatus.PENDING and "unreachable" in message.last_error


def test_interrupted_sends_are_resent_only_for_critical_events(telegram_api) -> None:
    user, identities = investor(email="")
    routine = _message(_enqueue(user, "a", EventType.BOT_STARTED))
    critical = _message(_enqueue(user, "b", EventType.BOT_ERROR))
    # A worker claimed both and died mid-send: the leases ran out.
    OutboxMessage.objects.filter(pk__in=[routine.pk, critical.pk]).update(
        status=OutboxStatus.SENDING, attempts=1, lease_until=timezone.now() - timedelta(seconds=1)
    )

    counts = delivery.outbox_sweep()

    assert counts["recovered"] == 2 and counts["sent"] == 1
    routine.refresh_from_db()
    critical.refresh_from_db()
    assert routine.status == OutboxStatus.UNKNOWN
    assert critical.status == OutboxStatus.SENT and critical.attempts == 2
    assert len(telegram_api.sent(identities["telegram"].chat_id)) == 1


def test_the_sweep_works_in_bounded_batches(telegram_api) -> None:
    user, _ = investor()
    for n in range(5):
        _enqueue(user, f"k{n}")
    assert delivery.outbox_sweep(batch=3)["sent"] == 3
    assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count() == 2
    assert delivery.outbox_sweep(batch=3)["sent"] == 2
    assert len(telegram_api.calls_of("sendMessage")) == 5


def test_a_chat_switched_off_after_enqueue_gets_nothing(telegram_api) -> None:
    user, identities = investor()
    message = _message(_enqueue(user))
    ChatIdentity.objects.filter(pk=identities["telegram"].pk).update(notifications_enabled=False)
    message = _deliver(message)
    assert message.status == OutboxStatus.CANCELLED and telegram_api.calls_of("sendMessage") == []


def test_an_unconfigured_surface_waits_for_the_operator_without_network(telegram_api, settings) -> None:
    user, _ = investor()
    message = _message(_enqueue(user))
    settings.TELEGRAM_BOT_TOKEN = ""
    message = _deliver(message)
    assert message.status == OutboxStatus.PENDING and "not configured" in message.last_error
    assert telegram_api.calls_of("sendMessage") == []


# --- Slack ----------------------------------------------------------------------------------------------


def test_slack_message_goes_to_the_dm_with_blocks_and_buttons(slack_api, no_chat_surfaces, settings) -> None:
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    user, identities = investor(telegram=False, slack=True)
    message = _deliver(_message(_enqueue(user), Channel.SLACK))

    assert message.status == OutboxStatus.SENT and message.external_id
    [call] = slack_api.calls_of("chat.postMessage")
    assert call.params["channel"] == identities["slack"].chat_id
    blocks = call.params["blocks"]
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"] == "Bot 1: Bot started"
    [button] = [element for block in blocks if block["type"] == "actions" for element in block["elements"]]
    assert payloads.decode(button["value"], owner_id=user.pk).code == "b"


def test_slack_http_429_waits_for_retry_after(slack_api) -> None:
    user, _ = investor(telegram=False, slack=True)
    message = _message(_enqueue(user), Channel.SLACK)
    slack_api.rate_limit_next("chat.postMessage", retry_after=9)

    before = timezone.now()
    message = _deliver(message)

    assert message.status == OutboxStatus.PENDING and message.attempts == 0
    assert before + timedelta(seconds=9) <= message.next_attempt_at <= timezone.now() + timedelta(seconds=9)
    _time_passes(message)
    assert _deliver(message).status == OutboxStatus.SENT
    assert len(slack_api.calls_of("chat.postMessage")) == 2


def test_slack_ratelimited_error_is_a_rate_limit_too(slack_api) -> None:
    user, _ = investor(telegram=False, slack=True)
    slack_api.fail_next("chat.postMessage", "ratelimited")
    message = _deliver(_message(_enqueue(user), Channel.SLACK))
    assert message.status == OutboxStatus.PENDING and message.attempts == 0
    assert "rate limited" in message.last_error


def test_slack_channel_gone_switches_the_chat_off_and_bad_token_is_retried(slack_api) -> None:
    user, identities = investor(telegram=False, slack=True)
    slack_api.fail_next("chat.postMessage", "invalid_auth")
    message = _deliver(_message(_enqueue(user, "a"), Channel.SLACK))
    assert message.status == OutboxStatus.PENDING and "invalid_auth" in message.last_error

    slack_api.fail_next("chat.postMessage", "channel_not_found")
    message = _deliver(_message(_enqueue(user, "b"), Channel.SLACK))
    assert message.status == OutboxStatus.FAILED
    assert ChatIdentity.objects.get(pk=identities["slack"].pk).notifications_enabled is False


# --- e-mail ---------------------------------------------------------------------------------------------


def test_email_is_sent_with_a_stable_message_id(no_chat_surfaces) -> None:
    user, _ = investor(telegram=False)
    notification = _enqueue(user, event=EventType.BOT_ERROR)
    message = _deliver(_message(notification, Channel.EMAIL))

    assert message.status == OutboxStatus.SENT
    [sent] = mail.outbox
    assert sent.to == [user.email] and sent.subject == "Bot 1: Bot started"
    assert "Bot 1 started (Dry-run, BTC/USDT 1h)." in sent.body
    assert sent.extra_headers["Message-ID"] == message.external_id == f"<ldp-notification-{message.pk}@localhost>"


def test_mail_server_down_is_retried_later(no_chat_surfaces, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1  # nothing listens
    user, _ = investor(telegram=False)
    message = _deliver(_message(_enqueue(user, event=EventType.BOT_ERROR), Channel.EMAIL))
    assert message.status == OutboxStatus.PENDING and message.attempts == 1
    assert message.next_attempt_at > timezone.now()


def test_an_email_address_removed_after_enqueue_gets_nothing(no_chat_surfaces) -> None:
    user, _ = investor(telegram=False)
    message = _message(_enqueue(user, event=EventType.BOT_ERROR), Channel.EMAIL)
    user.email = ""
    user.save()
    assert _deliver(message).status == OutboxStatus.CANCELLED and mail.outbox == []


def test_operator_retry_sends_a_failed_message_again(telegram_api, django_capture_on_commit_callbacks) -> None:
    user, _ = investor()
    telegram_api.fail_next("sendMessage", 400, "Bad Request: something odd")
    message = _deliver(_message(_enqueue(user)))
    assert message.status == OutboxStatus.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        services.outbox_message_retry(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    from core.errors import Conflict

    with pytest.raises(Conflict):
        services.outbox_message_retry(message_id=message.pk)


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_pass_a_row_another_worker_holds(telegram_api, monkeypatch) -> None:
    """PostgreSQL: FOR UPDATE SKIP LOCKED — a sweep neither waits for nor takes a row being claimed."""
    import threading

    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers (the claim is a status check there)")
    monkeypatch.setattr(services, "outbox_dispatch", lambda message_ids: None)  # only the sweep delivers here
    user, _ = investor(email="")
    held, free = _message(_enqueue(user, "a")), _message(_enqueue(user, "b"))
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                OutboxMessage.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(120)  # until the sweep is done (its first send imports aiogram)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert locked.wait(10)
    try:
        counts = delivery.outbox_sweep()
    finally:
        release.set()
        thread.join()

    assert counts["sent"] == 1
    held.refresh_from_db()
    free.refresh_from_db()
    assert (held.status, free.status) == (OutboxStatus.PENDING, OutboxStatus.SENT)


def test_error_texts_never_keep_the_bot_token(telegram_api) -> None:
    user, _ = investor()
    telegram_api.fail_next("sendMessage", 400, f"Bad Request: odd url /bot{telegram_api.token}/sendMessage")
    message = _deliver(_message(_enqueue(user)))
    assert message.status == OutboxStatus.FAILED and "odd url" in message.last_error
    assert telegram_api.token not in message.last_error
    assert telegram_api.token.split(":")[1] not in message.last_error
