"""Core screens → Telegram messages (HTML), and replies → Bot API calls.

`screen_message_kwargs(screen)` is the piece other code reuses (notifications): it returns the kwargs for
`bot.send_message(chat_id=..., **kwargs)`.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message

from chat.screens import Reply, Screen
from chat.telegram.callbacks import Act

logger = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
# A screen with a secret shown once (Screen.ephemeral) is deleted when the user presses its button, or after
# this long at the latest (Telegram lets a bot delete its own messages for 48 hours).
EPHEMERAL_DELETE_AFTER_SECONDS = 15 * 60


def keyboard(screen: Screen) -> InlineKeyboardMarkup | None:
    rows = []
    for row in screen.rows:
        buttons = []
        for button in row:
            if button.url:
                buttons.append(InlineKeyboardButton(text=button.label, url=button.url))
            elif button.payload:
                buttons.append(InlineKeyboardButton(text=button.label, callback_data=Act(p=button.payload).pack()))
        if buttons:
            rows.append(buttons)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def screen_html(screen: Screen, limit: int = MAX_TEXT) -> str:
    """Title in bold, text escaped (user input never becomes markup), cut to Telegram's limit."""
    title = f"<b>{html.escape(screen.title, quote=False)}</b>\n" if screen.title else ""
    budget = limit - len(title)
    raw = screen.text
    if len(html.escape(raw, quote=False)) > budget:
        while raw and len(html.escape(raw, quote=False)) > budget - 1:
            raw = raw[: len(raw) - max(1, len(html.escape(raw, quote=False)) - budget + 1)]
        raw += "…"
    return f"{title}{html.escape(raw, quote=False)}" or "…"


def screen_message_kwargs(screen: Screen) -> dict[str, Any]:
    """kwargs for Bot.send_message / edit_message_text (HTML parse mode, inline keyboard)."""
    return {"text": screen_html(screen), "parse_mode": "HTML", "reply_markup": keyboard(screen)}


async def send_screen(bot: Bot, chat_id: int | str, screen: Screen) -> Message:
    """Send a screen as a new message (a photo with caption when it has an image)."""
    if screen.image is None:
        return await bot.send_message(chat_id=chat_id, **screen_message_kwargs(screen))
    photo = BufferedInputFile(screen.image.png, filename=screen.image.name)
    if len(screen_html(screen, limit=MAX_TEXT + 1)) <= MAX_CAPTION:
        return await bot.send_photo(chat_id=chat_id, photo=photo, caption=screen_html(screen, MAX_CAPTION),
                                    parse_mode="HTML", reply_markup=keyboard(screen))
    await bot.send_photo(chat_id=chat_id, photo=photo)
    return await bot.send_message(chat_id=chat_id, **screen_message_kwargs(screen))


async def edit_screen(bot: Bot, message: Message, screen: Screen) -> Message:
    """Replace the message's text and buttons; a new message when that is impossible (photos)."""
    if screen.image is not None or message.photo:
        return await send_screen(bot, message.chat.id, screen)
    try:
        result = await bot.edit_message_text(chat_id=message.chat.id, message_id=message.message_id,
                                             **screen_message_kwargs(screen))
    except TelegramBadRequest as error:
        if "not modified" in error.message:
            return message
        if "not found" in error.message or "can't be edited" in error.message:
            return await send_screen(bot, message.chat.id, screen)
        raise
    return result if isinstance(result, Message) else message


async def deliver(bot: Bot, chat_id: int | str, reply: Reply, *, origin: Message | None = None) -> Message | None:
    """Show a core reply: edit `origin` (the pressed message) when the reply says so, else send."""
    shown: Message | None = None
    if reply.screen is not None:
        if reply.edit and origin is not None and not reply.screen.ephemeral:
            shown = await edit_screen(bot, origin, reply.screen)
        else:
            shown = await send_screen(bot, chat_id, reply.screen)
        if reply.screen.ephemeral:
            spawn(_delete_later(bot, chat_id, shown.message_id))
    elif reply.alert and origin is None:
        shown = await bot.send_message(chat_id=chat_id, text=html.escape(reply.alert, quote=False), parse_mode="HTML")
    for extra in reply.extra:
        await send_screen(bot, chat_id, extra)
    return shown


async def delete_quietly(bot: Bot, chat_id: int | str, message_id: int) -> None:
    try:
        await bot.delete_message(chat_id=chat_id, message_id=message_id)
    except TelegramBadRequest:
        logger.warning("could not delete a message that may hold a secret (chat %s)", chat_id)


async def _delete_later(bot: Bot, chat_id: int | str, message_id: int) -> None:
    await asyncio.sleep(EPHEMERAL_DELETE_AFTER_SECONDS)
    try:
        await bot.delete_message(chat_id=chat_id, message_id=message_id)
    except Exception:  # noqa: BLE001 - already deleted by the user's "Done", or the bot's session is closed
        logger.debug("ephemeral message %s in chat %s was already gone", message_id, chat_id)


def spawn(coroutine: Any) -> asyncio.Task:
    """Keep a reference to background tasks (the event loop holds only weak ones)."""
    task = asyncio.get_running_loop().create_task(coroutine)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


_background: set[asyncio.Task] = set()
