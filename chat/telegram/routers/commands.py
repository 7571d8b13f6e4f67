"""Slash commands → chat.engine.handle_command. `/start <code>` (deep link) carries a link code."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from asgiref.sync import sync_to_async

from chat import engine
from chat.context import Ctx
from chat.telegram.render import deliver


def build_router() -> Router:
    router = Router(name="commands")
    router.message.register(on_command, Command(*engine.command_names(), ignore_case=True))
    router.message.register(on_unknown_command, F.text.startswith("/"))
    return router


async def on_command(message: Message, command: CommandObject, ctx: Ctx) -> None:
    reply = await sync_to_async(engine.handle_command)(ctx, command.command, command.args or "")
    await deliver(message.bot, message.chat.id, reply)


async def on_unknown_command(message: Message, ctx: Ctx) -> None:
    name, _, _ = message.text[1:].partition(" ")
    name, _, mention = name.partition("@")
    me = await message.bot.me()
    if mention and mention.lower() != (me.username or "").lower():
        return  # a command for another bot in a group
    if not ctx.actor.private:
        return  # groups: stay quiet about commands we do not have
    reply = await sync_to_async(engine.handle_command)(ctx, name, "")
    await deliver(message.bot, message.chat.id, reply)
