"""Blocking an account stops its running bots in the same transaction and tells the user once, in chat."""

from __future__ import annotations

import pytest

from bots.models import BotRuntime, BotState, SubscribedBot
from notifications.delivery import outbox_message_deliver
from notifications.models import EventType, Notification, OutboxMessage
from tests.factories import FundSubscriptionFactory, SubscribedBotFactory
from tests.notifications.conftest import investor, telegram_api  # noqa: F401  (fixture)
from users.models import User, UserStatus
from users.services import BLOCKED_STOP_REASON, user_block

pytestmark = pytest.mark.django_db


def _bot(user: User, state: str, name: str, **settings) -> SubscribedBot:  # noqa: ANN003
    subscribed = SubscribedBotFactory(user=user, state=state, bot__name=name, user_bot_setting=settings,
                                      fund_subscription=FundSubscriptionFactory(user=user))
    BotRuntime.objects.create(subscribed_bot=subscribed)
    return subscribed


def test_blocking_stops_starting_and_running_bots_as_their_settings_say(django_capture_on_commit_callbacks) -> None:
    user, _ = investor()
    running = _bot(user, BotState.RUNNING, "Runner")  # close_position_on_stop defaults to closing
    starting = _bot(user, BotState.STARTING, "Starter", close_position_on_stop=False)
    stopped = _bot(user, BotState.STOPPED, "Idle")
    errored = _bot(user, BotState.ERROR, "Broken")
    with django_capture_on_commit_callbacks() as callbacks:
        user_block(user=user)

    assert User.objects.get(pk=user.pk).status == UserStatus.BLOCKED
    states = dict(SubscribedBot.objects.values_list("bot__name", "state"))
    assert states == {"Runner": BotState.STOPPING, "Starter": BotState.STOPPING, "Idle": BotState.STOPPED,
                      "Broken": BotState.ERROR}
    assert SubscribedBot.objects.get(pk=running.pk).state_reason == BLOCKED_STOP_REASON
    closes = dict(BotRuntime.objects.values_list("subscribed_bot_id", "stop_close_position"))
    assert closes == {running.pk: True, starting.pk: False, stopped.pk: None, errored.pk: None}
    # After commit: the two STOP finish tasks, and the notification's delivery.
    assert len(callbacks) == 3


def test_the_blocked_user_gets_one_clear_message_in_their_chat(telegram_api,  # noqa: F811
                                                               django_capture_on_commit_callbacks) -> None:
    user, identities = investor(email="")
    _bot(user, BotState.RUNNING, "Trend Rider")
    _bot(user, BotState.RUNNING, "Grid Keeper", close_position_on_stop=False)
    with django_capture_on_commit_callbacks(execute=False):  # no broker round trip for the STOP tasks here
        user_block(user=user)
        user_block(user=user)  # again: nothing left to stop, nothing more to say

    notification = Notification.objects.get(user=user)
    assert notification.event == EventType.ACCOUNT_BLOCKED
    for message in OutboxMessage.objects.filter(notification=notification):
        outbox_message_deliver(message_id=message.pk)
    [sent] = telegram_api.sent(identities["telegram"].chat_id)
    assert sent.text.startswith("Your account is blocked\nAn operator blocked your account")
    assert "• Trend Rider — closing its open position" in sent.text
    assert "• Grid Keeper — keeping its open position" in sent.text
    assert "contact the operator" in sent.text
    assert sent.buttons == []  # nothing in the chat works for a blocked account: no menu to offer


def test_blocking_an_account_without_bots_still_tells_the_user(django_capture_on_commit_callbacks) -> None:
    user, _ = investor()
    with django_capture_on_commit_callbacks():
        user_block(user=user)
    notification = Notification.objects.get(user=user, event=EventType.ACCOUNT_BLOCKED)
    assert "being stopped" not in notification.text and notification.buttons == []
