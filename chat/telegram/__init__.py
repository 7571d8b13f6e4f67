"""Telegram adapter (aiogram 3): translates core screens to inline keyboards and callback queries.

Entry points: `chat.telegram.app` (bot, dispatcher, polling, webhook) and `chat.telegram.render`
(`screen_message_kwargs`, `send_screen` — reused by notifications).
"""
