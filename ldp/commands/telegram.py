"""`ldp telegram`: run the Telegram bot — long polling (default) or a webhook endpoint (TELEGRAM_MODE)."""

from __future__ import annotations

import argparse
import asyncio


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("telegram", help="run the Telegram bot (TELEGRAM_BOT_TOKEN)")
    parser.add_argument("--mode", choices=["polling", "webhook"], default=None,
                        help="default: TELEGRAM_MODE (polling)")
    parser.add_argument("--webhook-url", default="", help="public base URL Telegram posts to (webhook mode)")
    parser.add_argument("--host", default="127.0.0.1", help="webhook mode: listen address")
    parser.add_argument("--port", type=int, default=8081, help="webhook mode: listen port")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ldp.django_setup import ensure_broker, setup_django

    ensure_broker()
    setup_django()
    from django.conf import settings

    if not settings.TELEGRAM_BOT_TOKEN:
        print("TELEGRAM_BOT_TOKEN is not set; try `ldp chat` for the same conversation in the terminal.")
        return 2
    from chat.telegram import app as telegram_app

    mode = args.mode or settings.TELEGRAM_MODE
    bot = telegram_app.build_bot()
    dispatcher = telegram_app.build_dispatcher()
    if mode != "webhook":
        asyncio.run(telegram_app.run_polling(bot, dispatcher))
        return 0
    from aiohttp import web

    secret = settings.TELEGRAM_WEBHOOK_SECRET
    if not secret:
        print("webhook mode needs TELEGRAM_WEBHOOK_SECRET (Telegram sends it in a header; others are refused)")
        return 2
    app = telegram_app.webhook_app(bot, dispatcher, secret_token=secret)
    if args.webhook_url:
        async def on_startup(_: web.Application) -> None:
            await telegram_app.set_webhook(bot, args.webhook_url, secret_token=secret)

        app.on_startup.append(on_startup)
    else:
        print(f"serving {telegram_app.WEBHOOK_PATH}; register it with Telegram yourself, or pass --webhook-url")
    web.run_app(app, host=args.host, port=args.port)
    return 0
