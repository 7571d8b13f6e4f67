"""Buttons → chat.engine.handle_action; edits the pressed message; polls screens that ask for it."""

from __future__ import annotations

import asyncio
import logging
import time

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from asgiref.sync import sync_to_async

from chat import engine
from chat.context import Actor, Ctx
from chat.screens import Reply
from chat.telegram.callbacks import Act
from chat.telegram.render import delete_quietly, deliver, edit_screen, spawn

logger = logging.getLogger(__name__)

# A polled screen (simulation progress) is re-drawn this often, at most this long.
POLL_INTERVAL_SECONDS = 2.0
POLL_MAX_SECONDS = 30 * 60
MAX_ALERT = 200


def build_router() -> Router:
    router = Router(name="actions")
    router.callback_query.register(on_action, Act.filter())
    router.callback_query.register(on_unknown_callback)
    return router


async def on_action(query: CallbackQuery, callback_data: Act, ctx: Ctx) -> None:
    reply = await sync_to_async(engine.handle_action)(ctx, callback_data.p)
    await _answer(query, reply)


async def on_unknown_callback(query: CallbackQuery, ctx: Ctx) -> None:
    """Data no router knows (forged, from an old version): the same short message as a bad payload."""
    await _answer(query, await sync_to_async(engine.handle_action)(ctx, None))


async def _answer(query: CallbackQuery, reply: Reply) -> None:
    alert = reply.alert[:MAX_ALERT]
    await query.answer(text=alert or None, show_alert=len(alert) > 60)
    origin = query.message if isinstance(query.message, Message) else None
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    if isinstance(query.message, InaccessibleMessage):
        origin = None
    if reply.delete_origin and origin is not None:
        # The pressed message showed a secret (a new API token): remove it rather than keep it edited.
        await delete_quietly(query.bot, chat_id, origin.message_id)
        origin = None
    shown = await deliver(query.bot, chat_id, reply, origin=origin)
    if reply.screen is not None and reply.screen.poll and shown is not None:
        spawn(_poll(query.bot, ctx_actor(query), shown, reply.screen.poll))


def ctx_actor(query: CallbackQuery) -> Actor:
    from chat.telegram.middlewares import actor_for

    return actor_for(query.from_user, query.message.chat if query.message else None)


async def _poll(bot: Bot, actor: Actor, message: Message, payload: str) -> None:
    """Re-run the screen's poll action and edit the message until the screen stops asking."""
    deadline = time.monotonic() + POLL_MAX_SECONDS
    while payload and time.monotonic() < deadline:
        await asyncio.sleep(POLL_INTERVAL_SECONDS)
        try:
            ctx = await sync_to_async(engine.session_open)(actor)
            reply = await sync_to_async(engine.handle_action)(ctx, payload)
            if reply.screen is None:
                return
            message = await edit_screen(bot, message, reply.screen)
            payload = reply.screen.poll
        except Exception:
            logger.exception("polling a screen failed")
            return
