"""Enqueueing: one outbox row per wanted destination, idempotent, in the caller's transaction; preferences."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction

from bots.events import EventSpec, bot_event_record, bot_events_record_many
from bots.models import BotEventKind
from core.errors import NotFound, ValidationError
from notifications import selectors, services
from notifications.models import Channel, EventType, Notification, OutboxMessage, OutboxStatus
from tests.factories import ChatIdentityFactory, SubscribedBotFactory, UserFactory
from tests.notifications.conftest import investor
from users.models import ChatSurface

pytestmark = pytest.mark.django_db


def _enqueue(user, key: str = "k1", event: str = EventType.BOT_STARTED):
    return services.notification_enqueue(user=user, event=event, key=key, title="Bot 1: started", text="It runs.")


def _channels(notification: Notification) -> list[str]:
    return sorted(notification.messages.values_list("channel", flat=True))


def test_same_key_twice_gives_one_notification_and_one_message_per_destination(telegram_api, slack_api) -> None:
    user, _ = investor(telegram=True, slack=True)
    first = _enqueue(user, event=EventType.BOT_ERROR)
    second = _enqueue(user, event=EventType.BOT_ERROR)

    assert first.pk == second.pk
    assert Notification.objects.count() == 1
    assert _channels(first) == ["email", "slack", "telegram"]
    assert OutboxMessage.objects.count() == 3
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.PENDING}


def test_same_key_of_another_user_is_another_notification(telegram_api) -> None:
    alice, _ = investor()
    bob, _ = investor()
    assert _enqueue(alice).pk != _enqueue(bob).pk


def test_defaults_send_every_event_to_linked_chats_and_only_important_ones_by_email(telegram_api) -> None:
    user, _ = investor()
    assert _channels(_enqueue(user, "a", EventType.BOT_STARTED)) == ["telegram"]
    assert _channels(_enqueue(user, "b", EventType.ORDER_FILLED)) == ["telegram"]
    assert _channels(_enqueue(user, "c", EventType.BOT_ERROR)) == ["email", "telegram"]
    assert _channels(_enqueue(user, "d", EventType.SUBSCRIPTION_CHANGED)) == ["email", "telegram"]
    assert _channels(_enqueue(user, "e", EventType.ORDER_ATTENTION)) == ["email", "telegram"]


def test_preferences_choose_the_channels(telegram_api, slack_api) -> None:
    user, _ = investor(telegram=True, slack=True)
    services.notification_preferences_update(
        user=user,
        changes={EventType.BOT_STARTED: {"telegram": False, "email": True}, EventType.BOT_ERROR: {"slack": False}},
    )
    assert _channels(_enqueue(user, "a", EventType.BOT_STARTED)) == ["email", "slack"]
    assert _channels(_enqueue(user, "b", EventType.BOT_ERROR)) == ["email", "telegram"]
    assert _channels(_enqueue(user, "c", EventType.BOT_STOPPED)) == ["slack", "telegram"]


def test_all_channels_off_records_the_notification_but_sends_nothing(telegram_api) -> None:
    user, _ = investor()
    services.notification_preferences_update(user=user, changes={"trade_closed": {"telegram": False}})
    notification = _enqueue(user, event=EventType.TRADE_CLOSED)
    assert notification.pk and _channels(notification) == []


def test_unconfigured_surfaces_unlinked_chats_and_switched_off_chats_get_no_rows(no_chat_surfaces, settings) -> None:
    user, identities = investor(telegram=True, slack=True, email="")
    assert _channels(_enqueue(user, "a")) == []  # no bot tokens: nothing can go to chats
    settings.TELEGRAM_BOT_TOKEN = "123:abc"
    identities[ChatSurface.TELEGRAM].notifications_enabled = False
    identities[ChatSurface.TELEGRAM].save()
    ChatIdentityFactory(user=user, surface=ChatSurface.TERMINAL)  # the terminal is no push channel
    assert _channels(_enqueue(user, "b")) == []


def test_rows_roll_back_with_the_business_change(telegram_api) -> None:
    user, _ = investor()
    with pytest.raises(RuntimeError), transaction.atomic():
        _enqueue(user)
        raise RuntimeError("the business change failed")
    assert Notification.objects.count() == 0 and OutboxMessage.objects.count() == 0


def test_delivery_is_handed_over_only_after_commit(telegram_api, django_capture_on_commit_callbacks) -> None:
    user, _ = investor()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _enqueue(user)
    assert len(callbacks) == 1 and telegram_api.calls_of("sendMessage") == []
    callbacks[0]()
    assert len(telegram_api.calls_of("sendMessage")) == 1
    assert OutboxMessage.objects.get().status == OutboxStatus.SENT


def test_unknown_event_or_empty_key_is_a_programming_error() -> None:
    user = UserFactory()
    with pytest.raises(ValueError):
        services.notification_enqueue(user=user, event="nope", key="k", title="t", text="x")
    with pytest.raises(ValueError):
        services.notification_enqueue(user=user, event=EventType.BOT_STARTED, key="", title="t", text="x")


# --- preferences ------------------------------------------------------------------------------------------


def test_preferences_get_shows_defaults_and_destinations(telegram_api) -> None:
    user, identities = investor(telegram=True, slack=True)
    preferences = selectors.notification_preferences_get(user=user)
    assert preferences.matrix[EventType.BOT_STARTED] == {"telegram": True, "slack": True, "email": False}
    assert preferences.matrix[EventType.BOT_ERROR]["email"] is True
    by_channel = {d.channel: d for d in preferences.destinations}
    assert by_channel["telegram"].available and by_channel["telegram"].identity_id == identities["telegram"].pk
    assert not by_channel["slack"].available  # no Slack token on this server
    assert by_channel["email"].label == f"E-mail {user.email}"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"no_such_event": {"telegram": True}}, "events"),
        ({"bot_started": {"pigeon": True}}, "events.bot_started"),
        ({"bot_started": {"telegram": "yes"}}, "events.bot_started.telegram"),
        ({"bot_started": ["telegram"]}, "events.bot_started"),
        (["bot_started"], "events"),
    ],
)
def test_preferences_reject_unknown_names_and_non_booleans(changes, field: str) -> None:
    user = UserFactory()
    with pytest.raises(ValidationError) as caught:
        services.notification_preferences_update(user=user, changes=changes)
    assert caught.value.field == field
    assert not user.notification_preferences.exists()


def test_switching_a_chat_off_cancels_its_pending_messages_and_can_be_undone(telegram_api) -> None:
    user, identities = investor()
    message = _enqueue(user).messages.get()
    identity = services.notification_destination_set(user=user, identity_id=identities["telegram"].pk, enabled=False)
    assert identity.notifications_enabled is False
    message.refresh_from_db()
    assert message.status == OutboxStatus.CANCELLED
    assert _channels(_enqueue(user, "later")) == []
    services.notification_destination_set(user=user, identity_id=identity.pk, enabled=True)
    assert _channels(_enqueue(user, "again")) == ["telegram"]


def test_another_users_chat_is_not_found() -> None:
    other = ChatIdentityFactory()
    for identity_id in [other.pk, 0, -1, 10**30, "1"]:
        with pytest.raises(NotFound):
            services.notification_destination_set(user=UserFactory(), identity_id=identity_id, enabled=False)
    other.refresh_from_db()
    assert other.notifications_enabled is True


def test_writing_to_the_bot_again_turns_a_blocked_chat_back_on() -> None:
    identity = ChatIdentityFactory(notifications_enabled=False)
    assert services.notification_identity_reachable(identity=identity) is True
    identity.refresh_from_db()
    assert identity.notifications_enabled is True
    assert services.notification_identity_reachable(identity=identity) is False


@pytest.mark.parametrize("reason", ["user", "operator"])
def test_writing_again_does_not_unmute_a_chat_someone_switched_off(reason: str) -> None:
    identity = ChatIdentityFactory(notifications_enabled=False, notifications_off_reason=reason)
    assert services.notification_identity_reachable(identity=identity) is False
    identity.refresh_from_db()
    assert (identity.notifications_enabled, identity.notifications_off_reason) == (False, reason)


def test_muting_a_chat_records_that_the_user_did_it() -> None:
    identity = ChatIdentityFactory()
    services.notification_destination_set(user=identity.user, identity_id=identity.pk, enabled=False)
    identity.refresh_from_db()
    assert (identity.notifications_enabled, identity.notifications_off_reason) == (False, "user")
    destination = selectors.notification_preferences_get(user=identity.user).destinations[0]
    assert (destination.enabled, destination.off_reason) == (False, "user")
    services.notification_destination_set(user=identity.user, identity_id=identity.pk, enabled=True)
    identity.refresh_from_db()
    assert (identity.notifications_enabled, identity.notifications_off_reason) == (True, "")


# --- hooks ------------------------------------------------------------------------------------------------


def test_recorded_bot_events_become_notifications_in_the_same_transaction(telegram_api) -> None:
    user, _ = investor()
    subscribed_bot = SubscribedBotFactory(user=user)
    event = bot_event_record(
        subscribed_bot_id=subscribed_bot.pk, kind=BotEventKind.STARTED, message="Bot started (Dry-run, BTC/USDT 1h)."
    )
    notification = Notification.objects.get()
    assert notification.key == f"bot_event:{event.pk}"
    assert notification.event == EventType.BOT_STARTED and notification.user == user
    assert notification.title == f"{subscribed_bot.bot.name}: Bot started"
    assert notification.text == "Bot started (Dry-run, BTC/USDT 1h)."
    assert notification.buttons == [[{"label": "Open bot", "code": "b", "args": [str(subscribed_bot.pk)], "style": ""}]]
    assert _channels(notification) == ["telegram"]


def test_a_batch_of_bot_events_costs_the_same_queries_for_2_or_20_users(telegram_api) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def record(count: int) -> int:
        bots = [SubscribedBotFactory(user=investor()[0]) for _ in range(count)]
        specs = [EventSpec(subscribed_bot_id=b.pk, kind=BotEventKind.ORDER_FILLED, message="Filled") for b in bots]
        with CaptureQueriesContext(connection) as queries:
            bot_events_record_many(specs)
        return len(queries)

    assert record(2) == record(20)
    assert Notification.objects.filter(event=EventType.ORDER_FILLED).count() == 22
    assert OutboxMessage.objects.filter(channel=Channel.TELEGRAM).count() == 22


def test_bot_error_is_critical_and_also_emailed(telegram_api) -> None:
    user, _ = investor()
    bot_event_record(subscribed_bot_id=SubscribedBotFactory(user=user).pk, kind=BotEventKind.ERROR, message="Boom")
    notification = Notification.objects.get()
    assert notification.critical is True and _channels(notification) == ["email", "telegram"]


def test_fund_subscription_changes_are_emailed_through_the_outbox(django_capture_on_commit_callbacks) -> None:
    from funds.services import fund_subscribe, fund_subscription_cancel
    from tests.factories import BotFactory, FundBotFactory, FundFactory

    fund = FundFactory()
    FundBotFactory(fund=fund, bot=BotFactory())
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        subscription = fund_subscribe(user=user, fund_id=fund.pk)
    with django_capture_on_commit_callbacks(execute=True):
        fund_subscription_cancel(user=user, fund_subscription_id=subscription.pk)

    assert [m.subject for m in mail.outbox] == [
        f"You subscribed to {fund.name}", f"Your subscription to {fund.name} is cancelled",
    ]
    assert list(OutboxMessage.objects.values_list("status", flat=True)) == [OutboxStatus.SENT] * 2
    assert Notification.objects.filter(event=EventType.SUBSCRIPTION_CHANGED).count() == 2


def test_simulation_finished_notifies_once_with_the_results(telegram_api) -> None:
    from bots.models import RunType
    from notifications.hooks import simulation_finished_notify
    from tests.factories import BotRunFactory

    user, _ = investor()
    run = BotRunFactory(
        subscribed_bot=SubscribedBotFactory(user=user), run_type=RunType.SIMULATION, status="finished",
        metrics={"total_return": 0.125, "trades": 4},
    )
    first = simulation_finished_notify(run=run)
    again = simulation_finished_notify(run=run)
    assert first.pk == again.pk
    assert "Return: +12.50 %" in first.text and "Trades: 4" in first.text
    running = BotRunFactory(subscribed_bot=run.subscribed_bot, run_type=RunType.SIMULATION, status="running")
    assert simulation_finished_notify(run=running) is None
    assert Notification.objects.count() == 1


def test_an_order_flagged_for_attention_asks_once_to_resync_or_cancel(telegram_api) -> None:
    from tests.factories import OrderFactory
    from trading.orders.attention import order_attention_flag

    user, _ = investor()
    subscribed_bot = SubscribedBotFactory(user=user)
    order = OrderFactory(run__subscribed_bot=subscribed_bot, status="unknown", amount=Decimal("0.0100"))
    assert order_attention_flag(order=order, reason="No answer from the exchange after 3 tries.") is True
    assert order_attention_flag(order=order, reason="still no answer") is False

    notification = Notification.objects.get()  # the bot event recorded next to it does not notify again
    assert notification.event == EventType.ORDER_ATTENTION and notification.critical
    assert "BUY 0.01 BTC/USDT" in notification.text
    assert "No answer from the exchange after 3 tries." in notification.text
    assert [[(b["label"], b["code"], b["args"]) for b in row] for row in notification.buttons] == [
        [("Re-sync", "ors", [str(order.pk)]), ("Cancel order", "orc", [str(order.pk)])],
        [("Open bot", "b", [str(order.subscribed_bot_id)])],
    ]
    assert _channels(notification) == ["email", "telegram"]


def test_an_approved_account_hears_it_in_chat(telegram_api) -> None:
    from users.models import UserStatus
    from users.services import user_approve

    user, _ = investor(status=UserStatus.PENDING)
    user_approve(user=user)
    user_approve(user=user)  # approving an active account changes nothing and says nothing
    notification = Notification.objects.get()
    assert notification.event == EventType.ACCOUNT_APPROVED and notification.title == "Your account is active"
    assert _channels(notification) == ["email", "telegram"]
