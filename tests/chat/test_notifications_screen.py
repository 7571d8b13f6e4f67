"""Account → Notifications: mute / unmute a chat, switch events per app and e-mail, and a chat that was
switched off as unreachable comes back when the person writes again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chat import payloads
from notifications.models import NotificationPreference
from notifications.selectors import notification_preferences_get
from tests.chat.conftest import CoreDriver
from tests.factories import ChatIdentityFactory
from users.models import ChatIdentity

pytestmark = pytest.mark.django_db


def _open(driver: CoreDriver) -> ChatIdentity:
    driver.command("start")
    driver.command("account")
    driver.press("Notifications")
    return ChatIdentity.objects.get(external_user_id=driver.actor.external_user_id)


def test_the_account_leads_to_where_notifications_go(tg_driver: CoreDriver) -> None:
    _open(tg_driver)
    assert tg_driver.screen.title == "Notifications"
    assert "• This chat (Telegram @alice): on" in tg_driver.text
    assert "E-mail (no address set) — add an address in Account to get e-mails" in tg_driver.text
    labels = [button.label for button in tg_driver.screen.buttons()]
    assert labels == ["Mute this chat", "Events in this app", "Add e-mail", "« Account", "« Menu"]


def test_an_event_is_switched_off_for_this_app_only(tg_driver: CoreDriver) -> None:
    identity = _open(tg_driver)
    tg_driver.press("Events in this app")
    assert tg_driver.screen.title == "Notification events"
    assert "Keep these on somewhere — missing them can cost money: Bot error, Order needs your attention." in (
        tg_driver.text)
    reply = tg_driver.press("✓ Bot started")
    assert reply.edit and "Bot started: off in Telegram." in tg_driver.text
    assert tg_driver.button("✗ Bot started") and tg_driver.button("✓ Bot stopped")
    preferences = notification_preferences_get(user=identity.user)
    assert preferences.enabled("bot_started", "telegram") is False
    assert preferences.enabled("bot_started", "slack") is True
    assert NotificationPreference.objects.count() == 1
    tg_driver.press("✗ Bot started")
    assert notification_preferences_get(user=identity.user).enabled("bot_started", "telegram") is True


def test_e_mail_events_are_offered_once_there_is_an_address(tg_driver: CoreDriver) -> None:
    identity = _open(tg_driver)
    identity.user.email = "alice@example.com"
    identity.user.save()
    tg_driver.press("« Account")
    tg_driver.press("Notifications")
    assert "• E-mail alice@example.com" in tg_driver.text
    tg_driver.press("Events by e-mail")
    # By default only what someone away from chat must hear goes by e-mail.
    assert tg_driver.button("✗ Bot started") and tg_driver.button("✓ Bot error")
    tg_driver.press("✗ Trade closed")
    assert "Trade closed: on by e-mail." in tg_driver.text
    assert notification_preferences_get(user=identity.user).enabled("trade_closed", "email") is True


def test_a_muted_chat_stays_muted_when_the_person_writes(tg_driver: CoreDriver) -> None:
    identity = _open(tg_driver)
    tg_driver.press("Mute this chat")
    assert "Muted: no notifications to this chat until you unmute it." in tg_driver.text
    assert "This chat (Telegram @alice): off — muted by you" in tg_driver.text
    identity.refresh_from_db()
    assert (identity.notifications_enabled, identity.notifications_off_reason) == (False, "user")
    tg_driver.type("hello")
    identity.refresh_from_db()
    assert identity.notifications_enabled is False
    tg_driver.command("account")
    tg_driver.press("Notifications")
    tg_driver.press("Unmute this chat")
    identity.refresh_from_db()
    assert (identity.notifications_enabled, identity.notifications_off_reason) == (True, "")


def test_a_chat_switched_off_as_unreachable_comes_back_when_the_person_writes(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    ChatIdentity.objects.filter(external_user_id="5001").update(notifications_enabled=False,
                                                               notifications_off_reason="unreachable")
    tg_driver.type("I unblocked you")
    identity = ChatIdentity.objects.get(external_user_id="5001")
    assert (identity.notifications_enabled, identity.notifications_off_reason) == (True, "")


def test_another_persons_chat_cannot_be_muted(tg_driver: CoreDriver) -> None:
    identity = _open(tg_driver)
    other = ChatIdentityFactory()
    forged = payloads.encode("ntd", (other.pk, 0), owner_id=identity.user_id, issued_at=datetime.now(UTC),
                             nonce=payloads.new_nonce())
    reply = tg_driver.press_payload(forged)
    assert reply.alert == "No such linked chat."
    other.refresh_from_db()
    assert other.notifications_enabled is True
