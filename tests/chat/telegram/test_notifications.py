"""Notifications and the Telegram bot together: a chat switched off because the bot was blocked comes back
as soon as the person writes to the bot again; the preferences screen through the real client."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from notifications.delivery import outbox_message_deliver
from notifications.models import EventType, OutboxMessage, OutboxStatus
from notifications.services import notification_enqueue
from tests.chat.telegram.conftest import Harness
from users.models import ChatIdentity

pytestmark = pytest.mark.django_db


def test_a_blocked_then_unblocked_chat_gets_notifications_again(telegram, settings) -> None:
    def deliver(key: str) -> OutboxMessage:
        identity = ChatIdentity.objects.get(external_user_id="701")
        notification_enqueue(user=identity.user, event=EventType.BOT_STOPPED, key=key, title="Trend Bot: stopped",
                             text="Trend Bot stopped.")
        message = OutboxMessage.objects.get(notification__key=key)
        outbox_message_deliver(message_id=message.pk)
        message.refresh_from_db()
        return message

    def identity_state() -> tuple[bool, str]:
        identity = ChatIdentity.objects.get(external_user_id="701")
        return identity.notifications_enabled, identity.notifications_off_reason

    async def scenario(h: Harness) -> None:
        settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_BASE = h.emu.token, h.emu.base_url
        dora = h.emu.user(701)
        await h.say(dora, "/start")
        h.emu.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        blocked = await sync_to_async(deliver)("first")
        assert blocked.status == OutboxStatus.FAILED
        assert await sync_to_async(identity_state)() == (False, "unreachable")

        await h.say(dora, "I unblocked the bot")  # any message: the chat works again
        assert await sync_to_async(identity_state)() == (True, "")
        delivered = await sync_to_async(deliver)("second")
        assert delivered.status == OutboxStatus.SENT
        assert h.emu.last_message(701).text.startswith("Trend Bot: stopped")

    telegram(scenario)


def test_switching_an_event_off_from_telegram(telegram) -> None:
    async def scenario(h: Harness) -> None:
        eve = h.emu.user(702, username="eve")
        await h.say(eve, "/start")
        account = await h.say(eve, "/account")
        screen = await h.tap(eve, account, "Notifications")
        assert "This chat (Telegram @eve): on" in screen.text
        events = await h.tap(eve, screen, "Events in this app")
        switched = await h.tap(eve, events, "✓ Trade closed")
        assert switched.message_id == events.message_id  # redrawn in place
        assert "Trade closed: off in Telegram." in switched.text and switched.button("✗ Trade closed")

    telegram(scenario)
    from notifications.selectors import notification_preferences_get

    user = ChatIdentity.objects.get(external_user_id="702").user
    assert notification_preferences_get(user=user).enabled("trade_closed", "telegram") is False
