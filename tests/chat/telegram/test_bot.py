"""The Telegram bot end to end: real aiogram against the local Bot API emulator."""

from __future__ import annotations

import pytest

from bots.models import SubscribedBot
from chat import engine
from tests.chat.telegram.conftest import Harness
from tests.factories import FundBotFactory, SubscribedBotFactory
from users.models import ChatIdentity, User

pytestmark = pytest.mark.django_db


def test_start_signs_up_and_buttons_edit_the_message_in_place(telegram) -> None:
    async def scenario(h: Harness) -> None:
        alice = h.emu.user(42, username="alice")
        welcome = await h.say(alice, "/start")
        assert "your account is ready" in welcome.text
        assert welcome.text.startswith("Welcome to L&D Platform\n")  # the title, bold, then the text
        menu = await h.tap(alice, welcome, "« Menu")
        assert menu.message_id == welcome.message_id and menu.edits == 1
        assert "What would you like to do?" in menu.text
        assert {"My bots", "Funds & bots", "Reports", "Exchange keys", "Account", "Help"} <= {
            b["text"] for b in menu.buttons}
        assert all(len(b["callback_data"].encode()) <= 64 for b in menu.buttons)

    telegram(scenario)
    identity = ChatIdentity.objects.get(surface="telegram", external_user_id="42")
    assert identity.username == "alice" and identity.chat_id == "42"


def test_help_lists_commands_and_unknown_input_gets_a_hint(telegram) -> None:
    async def scenario(h: Harness) -> None:
        bob = h.emu.user(43)
        await h.say(bob, "/start")
        assert "/bots — Your bots" in (await h.say(bob, "/help")).text
        assert "I don't know /nope" in (await h.say(bob, "/nope")).text
        assert "didn't understand" in (await h.say(bob, "hello there")).text

    telegram(scenario)


def test_forged_and_unknown_callback_data_get_a_short_message(telegram) -> None:
    async def scenario(h: Harness) -> None:
        carol = h.emu.user(44)
        welcome = await h.say(carol, "/start")
        assert (await h.tap_data(carol, welcome, "a:m|zzzz|AAAAAAAA"))["text"] == engine.BAD_BUTTON
        assert (await h.tap_data(carol, welcome, "totally-unknown"))["text"] == engine.BAD_BUTTON
        assert (await h.tap_data(carol, welcome, "a:" + "x" * 60))["text"] == engine.BAD_BUTTON

    telegram(scenario)


def test_another_users_bot_in_a_button_changes_nothing(telegram) -> None:
    victim = SubscribedBotFactory(run_type="dry_run")

    async def scenario(h: Harness) -> None:
        mallory = h.emu.user(45)
        welcome = await h.say(mallory, "/start")
        own_menu = welcome.button("« Menu")["callback_data"]
        # Swap in the victim's id: the signature no longer verifies.
        answer = await h.tap_data(mallory, welcome, f"a:rt!|{victim.pk}|simulation|" + own_menu.split("|", 2)[2])
        assert answer["text"] == engine.BAD_BUTTON

    telegram(scenario)
    victim.refresh_from_db()
    assert victim.run_type == "dry_run"


def test_four_kilobytes_of_junk_text_get_a_hint(telegram) -> None:
    async def scenario(h: Harness) -> None:
        dave = h.emu.user(46)
        await h.say(dave, "/start")
        reply = await h.say(dave, "<script>" + "x" * 4096)
        assert "didn't understand" in reply.text and "<script>" not in reply.text

    telegram(scenario)


def test_group_chats_get_read_only_answers_and_no_control(telegram) -> None:
    async def scenario(h: Harness) -> None:
        erin = h.emu.user(47)
        await h.say(erin, "/start")
        in_group = h.emu.user(47, chat_id=-1001, chat_type="supergroup", chat_title="Traders")
        assert "Your bots" in (await h.say(in_group, "/help")).text
        assert "private chat" in (await h.say(in_group, "/start")).text
        in_group.send("just chatting")
        in_group.send("/nonexistent")
        await h.settle()
        assert [m.text for m in h.emu.chat(-1001) if m.from_bot][-1].startswith("For your safety")

    telegram(scenario)


def test_double_tap_on_subscribe_acts_once(telegram) -> None:
    fund = FundBotFactory().fund

    async def scenario(h: Harness) -> None:
        frank = h.emu.user(48)
        screen = await h.say(frank, "/funds")
        assert "/start" in screen.text
        await h.say(frank, "/start")
        funds = await h.say(frank, "/funds")
        card = await h.tap(frank, funds, fund.name)
        confirm = await h.tap(frank, card, "Subscribe")
        first = frank.press(confirm, "Yes, subscribe")
        second = frank.press(confirm, "Yes, subscribe")
        answers = await h.emu.wait_for(
            lambda: [h.emu.callback_answers.get(first), h.emu.callback_answers.get(second)]
            if first in h.emu.callback_answers and second in h.emu.callback_answers else None)
        assert engine.TWICE in [answer.get("text") for answer in answers]

    telegram(scenario)
    assert SubscribedBot.objects.filter(user=User.objects.get()).count() == 1
