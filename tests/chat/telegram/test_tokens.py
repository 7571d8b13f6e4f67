"""API tokens through the real Telegram client: the message with the new token is deleted when the user
says they copied it; nothing else in the chat ever shows the token."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from chat.telegram import render
from tests.chat.telegram.conftest import Harness
from users.selectors import user_get_by_api_token

pytestmark = pytest.mark.django_db


def test_the_new_token_message_is_deleted_when_the_user_has_copied_it(telegram) -> None:
    async def scenario(h: Harness) -> None:
        finn = h.emu.user(801)
        await h.say(finn, "/start")
        account = await h.say(finn, "/account")
        tokens = await h.tap(finn, account, "API tokens")
        assert "No API tokens yet." in tokens.text
        prompt = await h.tap(finn, tokens, "Create token")
        assert "A name for the token" in prompt.text
        shown = await h.say(finn, "backtest script")
        plaintext = shown.text.split("\n")[1]  # the title, then the token on a line of its own
        assert await sync_to_async(user_get_by_api_token)(token=plaintext) is not None

        listed = await h.tap(finn, shown, "Done — I copied it")
        assert h.emu.messages[(801, shown.message_id)].deleted
        assert listed.message_id != shown.message_id and "• backtest script — ldp_" in listed.text
        assert all(plaintext not in message.text for message in h.emu.chat(801))

    telegram(scenario)


def test_a_token_message_left_alone_is_deleted_after_a_while(telegram, monkeypatch) -> None:
    monkeypatch.setattr(render, "EPHEMERAL_DELETE_AFTER_SECONDS", 0.2)

    async def scenario(h: Harness) -> None:
        gus = h.emu.user(802)
        await h.say(gus, "/start")
        tokens = await h.tap(gus, await h.say(gus, "/account"), "API tokens")
        await h.tap(gus, tokens, "Create token")
        shown = await h.say(gus, "cron job")
        await h.emu.wait_for(lambda: h.emu.messages[(802, shown.message_id)].deleted, timeout=5)

    telegram(scenario)
