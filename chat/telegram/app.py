"""Composition root of the Telegram bot: Bot (pointed at TELEGRAM_API_BASE), Dispatcher, routers, middleware.

    ldp telegram                      # long polling (TELEGRAM_MODE=polling, the default)
    ldp telegram --webhook-url URL    # webhook: aiohttp endpoint checking Telegram's secret-token header
"""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import BotCommand
from aiohttp import web
from asgiref.sync import sync_to_async
from django.conf import settings

from chat.telegram.lanes import LaneSession
from core.embedded_redis import redis_py_url

logger = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"


def build_bot(token: str | None = None, api_base: str | None = None) -> Bot:
    """A real aiogram Bot; `api_base` (TELEGRAM_API_BASE) points it at another Bot API server."""
    session = LaneSession(api=TelegramAPIServer.from_base((api_base or settings.TELEGRAM_API_BASE).rstrip("/")))
    return Bot(token=token or settings.TELEGRAM_BOT_TOKEN, session=session)


def build_dispatcher(*, redis_url: str | None = None) -> Dispatcher:
    """Routers in order: commands, buttons, typed text. aiogram's own FSM storage is Redis too (other
    features' routers may use it); the core keeps its form state in chat.state."""
    from chat.telegram.middlewares import SessionMiddleware
    from chat.telegram.routers import actions, commands, messages

    storage = RedisStorage.from_url(
        redis_py_url(redis_url or settings.REDIS_URL), key_builder=DefaultKeyBuilder(prefix="ldp:tg:fsm")
    )
    dispatcher = Dispatcher(storage=storage)
    dispatcher.update.outer_middleware(SessionMiddleware())
    for module in extra_router_modules():
        dispatcher.include_router(module.build_router())
        if hasattr(module, "setup"):
            module.setup(dispatcher)
    dispatcher.include_routers(commands.build_router(), actions.build_router(), messages.build_router())
    return dispatcher


# Feature routers of other parts of the platform, checked before the core's.
# Each exposes build_router() -> aiogram.Router, and optionally setup(dispatcher) (startup/shutdown hooks).
EXTRA_ROUTERS: tuple[str, ...] = ("ttadak.telegram",)


def extra_router_modules() -> list:
    from importlib import import_module

    return [import_module(path) for path in EXTRA_ROUTERS]


async def publish_commands(bot: Bot) -> None:
    from chat import engine
    from chat.registry import COMMANDS

    def visible() -> list[BotCommand]:
        engine.command_names()
        return [BotCommand(command=spec.name, description=spec.help[:256]) for spec in COMMANDS.values()
                if not spec.hidden]

    await bot.set_my_commands(await sync_to_async(visible)())


async def run_polling(bot: Bot, dispatcher: Dispatcher, *, handle_signals: bool = True) -> None:
    await bot.delete_webhook(drop_pending_updates=False)
    await publish_commands(bot)
    await dispatcher.start_polling(bot, handle_signals=handle_signals, close_bot_session=True)


def webhook_app(bot: Bot, dispatcher: Dispatcher, *, secret_token: str) -> web.Application:
    """An aiohttp app serving the webhook. Requests without Telegram's secret-token header get 401."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    if not secret_token:
        raise ValueError("TELEGRAM_WEBHOOK_SECRET must be set for webhook mode")
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=secret_token).register(app, path=WEBHOOK_PATH)
    setup_application(app, dispatcher, bot=bot)
    return app


async def set_webhook(bot: Bot, url: str, *, secret_token: str) -> None:
    await publish_commands(bot)
    await bot.set_webhook(url=url.rstrip("/") + WEBHOOK_PATH, secret_token=secret_token,
                          allowed_updates=["message", "callback_query"])
