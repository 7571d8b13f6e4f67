"""Telegram adapter (aiogram 3): translates core screens to inline keyboards and callback queries."""
