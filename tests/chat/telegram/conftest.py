"""End-to-end Telegram harness: the local Bot API emulator + the real aiogram Bot/Dispatcher polling it.

Tests are sync (so pytest-django's transaction holds); each scenario runs under `async_to_sync`, which
keeps the ORM calls the bot makes through `sync_to_async` on the test's thread and connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from chat.telegram import app as telegram_app
from chat.telegram.routers import actions
from emulators.telegram import EmulatedUser, SentMessage, TelegramEmulator

SCREEN_METHODS = {"sendMessage", "editMessageText", "sendPhoto"}


class Harness:
    def __init__(self, emulator: TelegramEmulator):
        self.emu = emulator

    def _mark(self) -> int:
        return len(self.emu.calls)

    async def _screen_after(self, mark: int, chat_id: int) -> SentMessage:
        def shown() -> SentMessage | None:
            for call in self.emu.calls[mark:]:
                if call.method in SCREEN_METHODS and int(call.params.get("chat_id", 0)) == chat_id:
                    if call.method == "editMessageText":
                        return self.emu.messages[(chat_id, int(call.params["message_id"]))]
                    return self.emu.last_message(chat_id)
            return None

        return await self.emu.wait_for(shown)

    async def say(self, user: EmulatedUser, text: str) -> SentMessage:
        """The user types `text`; returns the bot's message that answers it."""
        mark = self._mark()
        user.send(text)
        return await self._screen_after(mark, user.chat_id)

    async def tap(self, user: EmulatedUser, message: SentMessage, label: str) -> SentMessage:
        """The user presses a button; returns the message that shows the result (edited or new)."""
        mark = self._mark()
        user.press(message, label)
        return await self._screen_after(mark, user.chat_id)

    async def tap_data(self, user: EmulatedUser, message: SentMessage, data: str) -> dict[str, Any]:
        """Press with arbitrary callback data; returns the callback answer (the short message)."""
        query_id = user.press_data(message, data)
        return await self.emu.wait_for(lambda: self.emu.callback_answers.get(query_id))

    async def settle(self, rounds: int = 5) -> None:
        """Let already-queued updates be processed (the dispatcher handles each in a task)."""
        for _ in range(rounds):
            await asyncio.sleep(0.05)


@asynccontextmanager
async def running_bot():
    emulator = TelegramEmulator()
    await emulator.start()
    bot = telegram_app.build_bot(token=emulator.token, api_base=emulator.base_url)
    dispatcher = telegram_app.build_dispatcher()
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        await emulator.wait_for(lambda: emulator.calls_of("getMe"))
        yield Harness(emulator)
    finally:
        with suppress(RuntimeError):
            await dispatcher.stop_polling()
        with suppress(asyncio.CancelledError):
            await asyncio.wait_for(polling, 10)
        await dispatcher.storage.close()
        await bot.session.close()
        await emulator.stop()


@pytest.fixture
def telegram(chat_state, monkeypatch) -> Callable[[Callable[[Harness], Awaitable[None]]], None]:
    """`telegram(scenario)` runs `async def scenario(h)` against a polling bot and the emulator."""
    monkeypatch.setattr(actions, "POLL_INTERVAL_SECONDS", 0.05)

    def run(scenario: Callable[[Harness], Awaitable[None]]) -> None:
        async def main() -> None:
            async with running_bot() as harness:
                await scenario(harness)

        async_to_sync(main)()

    return run


def resign(callback_data: str, *, owner_id: int, issued_at) -> str:
    """The same action, validly signed but stamped `issued_at` (to test screen lifetimes)."""
    from chat import payloads

    body = callback_data.removeprefix("a:").rpartition(payloads.SEPARATOR)[0]
    code, *args, _stamp = body.split(payloads.SEPARATOR)
    return "a:" + payloads.encode(code, tuple(args), owner_id=owner_id, issued_at=issued_at, nonce=payloads.new_nonce())
