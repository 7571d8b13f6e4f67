"""Outer middleware: resolve the platform user once per update (one ORM lookup, off the event loop)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update, User
from asgiref.sync import sync_to_async

from chat import engine
from chat.context import Actor


def actor_for(user: User, chat: Chat | None) -> Actor:
    private = chat is None or chat.type == "private"
    return Actor(
        surface="telegram",
        external_user_id=str(user.id),
        chat_id=str(user.id if private or chat is None else chat.id),
        username=user.username or user.first_name or "",
        private=private,
    )


class SessionMiddleware(BaseMiddleware):
    """Puts `ctx` (chat.context.Ctx) into the handler data; updates without a person are dropped."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return None
        actor = actor_for(user, data.get("event_chat"))
        data["ctx"] = await sync_to_async(engine.session_open)(actor)
        return await handler(event, data)
