"""Typed messages → the form step in progress (chat.engine.handle_text), or a hint.

A message that may carry a secret is deleted before anything else is done with it.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message
from asgiref.sync import sync_to_async

from chat import engine
from chat.context import Ctx
from chat.telegram.render import delete_quietly, deliver


def build_router() -> Router:
    router = Router(name="messages")
    router.message.register(on_message)
    return router


async def on_message(message: Message, ctx: Ctx) -> None:
    if not ctx.actor.private:
        return  # groups: commands only
    deleted = False
    if await sync_to_async(engine.input_is_sensitive)(ctx):
        await delete_quietly(message.bot, message.chat.id, message.message_id)
        deleted = True
    reply = await sync_to_async(engine.handle_text)(ctx, message.text or message.caption or "")
    if reply.delete_input and not deleted:
        await delete_quietly(message.bot, message.chat.id, message.message_id)
    await deliver(message.bot, message.chat.id, reply)
