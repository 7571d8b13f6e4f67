"""Webhook mode: the endpoint refuses requests without Telegram's secret-token header."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient, TestServer
from asgiref.sync import async_to_sync

from chat.telegram import app as telegram_app
from emulators.telegram import TelegramEmulator

pytestmark = pytest.mark.django_db


def test_webhook_needs_the_secret_token_header(chat_state) -> None:
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 77, "type": "private"},
                                          "from": {"id": 77, "is_bot": False, "first_name": "W"}, "text": "/help",
                                          "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}

    async def scenario() -> None:
        emulator = TelegramEmulator()
        await emulator.start()
        bot = telegram_app.build_bot(token=emulator.token, api_base=emulator.base_url)
        dispatcher = telegram_app.build_dispatcher()
        app = telegram_app.webhook_app(bot, dispatcher, secret_token="s3cret-token")
        async with TestClient(TestServer(app)) as client:
            path = telegram_app.WEBHOOK_PATH
            without = await client.post(path, data=json.dumps(update), headers={"content-type": "application/json"})
            wrong = await client.post(path, data=json.dumps(update), headers={
                "content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "guess"})
            assert (without.status, wrong.status) == (401, 401)
            good = await client.post(path, data=json.dumps(update), headers={
                "content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "s3cret-token"})
            assert good.status == 200
            help_message = await emulator.wait_for(lambda: emulator.calls_of("sendMessage"))
            assert "/bots" in help_message[0].params["text"]
        await dispatcher.storage.close()
        await emulator.stop()

    async_to_sync(scenario)()
