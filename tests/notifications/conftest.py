"""Notification tests run the real clients (aiogram, slack_sdk, Django mail) against the local emulators.

The Telegram emulator is an aiohttp server; here it runs on its own event loop in a thread, so sync tests
(and a Celery worker in another process) can talk to it while the test reads what it received.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.slack import SlackRecorder
from emulators.telegram import TelegramEmulator
from tests.factories import ChatIdentityFactory, UserFactory
from users.models import ChatSurface


class ThreadedTelegram:
    """A TelegramEmulator on a background loop. Attribute access goes to the emulator."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="telegram-emulator", daemon=True)
        self._thread.start()
        self.emulator: TelegramEmulator = self._call(self._make())

    async def _make(self) -> TelegramEmulator:
        emulator = TelegramEmulator()
        await emulator.start()
        return emulator

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.emulator, name)

    def sent(self, chat_id: int | str) -> list[Any]:
        return [message for message in self.emulator.chat(int(chat_id)) if message.from_bot]

    def close(self) -> None:
        self._call(self.emulator.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@pytest.fixture
def telegram_api(settings) -> Iterator[ThreadedTelegram]:
    """The Bot API emulator, with TELEGRAM_BOT_TOKEN / TELEGRAM_API_BASE pointing at it."""
    telegram = ThreadedTelegram()
    settings.TELEGRAM_BOT_TOKEN = telegram.token
    settings.TELEGRAM_API_BASE = telegram.base_url
    try:
        yield telegram
    finally:
        telegram.close()


@pytest.fixture
def slack_api(settings) -> Iterator[SlackRecorder]:
    """The Slack Web API recorder, with SLACK_BOT_TOKEN / SLACK_API_BASE pointing at it."""
    recorder = SlackRecorder().start()
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    settings.SLACK_API_BASE = recorder.api_base
    try:
        yield recorder
    finally:
        recorder.stop()


@pytest.fixture
def no_chat_surfaces(settings) -> None:
    """Neither bot token is set: only e-mail can be delivered."""
    settings.TELEGRAM_BOT_TOKEN = ""
    settings.SLACK_BOT_TOKEN = ""


def investor(*, telegram: bool = True, slack: bool = False, email: str | None = None, **kwargs: Any):
    """A user with the chats they linked. Returns (user, {surface: identity})."""
    user = UserFactory(**kwargs) if email is None else UserFactory(email=email, **kwargs)
    identities = {}
    if telegram:
        identities[ChatSurface.TELEGRAM] = ChatIdentityFactory(user=user, surface=ChatSurface.TELEGRAM)
    if slack:
        identities[ChatSurface.SLACK] = ChatIdentityFactory(
            user=user, surface=ChatSurface.SLACK, team_id="T0LDP", external_user_id=f"U{user.pk:08d}",
            chat_id=f"D{user.pk:08d}",
        )
    return user, identities
