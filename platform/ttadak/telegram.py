"""Ttadak's fast path on Telegram: BUY GAME / SELL GAME presses go straight to the game engine.

The panel's buttons are ordinary core buttons (`a:tg|L|<bot>|<stamp>|<sig>`), so this router, included
before the core's, only has to claim them: it verifies the payload like the core does (signature for
this account, age), then awaits `GameEngine.press` on this loop — no thread hop for the dispatch, no
Redis tap lock: the press's idempotency key (this button's signature) is unique in the database.
The engine redraws the panel in place as the game moves on (sent → in play → result).

On start-up the router attaches this loop's engine to the process (ttadak.host), warms every running
Ttadak bot and resumes watching Telegram games in play; on shutdown it closes the engine.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery
from asgiref.sync import sync_to_async

from chat import engine as chat_engine
from chat import payloads
from chat.context import Ctx
from chat.telegram.render import screen_message_kwargs
from core.errors import ApplicationError
from ttadak import chat as journey
from users.models import UserStatus

logger = logging.getLogger(__name__)
PREFIX = f"a:{journey.PRESS_CODE}{payloads.SEPARATOR}"
MAX_ALERT = 200


def build_router() -> Router:
    router = Router(name="ttadak")
    router.callback_query.register(on_press, F.data.startswith(PREFIX))
    router.startup.register(on_startup)
    router.shutdown.register(on_shutdown)
    return router


async def on_startup(bot: Bot) -> None:
    from ttadak import host
    from ttadak.engine import game_engine

    engine = game_engine()
    engine.notifiers["telegram"] = lambda game_id: redraw(bot, game_id)
    host.attach(engine, asyncio.get_running_loop())
    engine.spawn(host.warm_scan(engine, surface="telegram"))


async def on_shutdown() -> None:
    from ttadak import host
    from ttadak.engine import close_game_engine, game_engine

    host.detach(game_engine())
    await close_game_engine()


async def on_press(query: CallbackQuery, ctx: Ctx) -> None:
    text = await press(query, ctx, time.perf_counter_ns())
    text = text[:MAX_ALERT]
    await query.answer(text=text or None, show_alert=len(text) > 60)


async def press(query: CallbackQuery, ctx: Ctx, received_ns: int | None = None) -> str:
    """Verify the button, then play. Returns the short answer for the person who pressed."""
    from ttadak.engine import game_engine
    from ttadak.services.games import PressTarget

    raw = (query.data or "")[2:]
    try:
        payload = payloads.decode(raw, owner_id=ctx.owner_id)
        side, subscribed_bot_id = journey.press_args(payload.args)
    except (payloads.PayloadError, ApplicationError):
        return chat_engine.BAD_BUTTON
    if payload.issued_at > ctx.now + chat_engine.CLOCK_SKEW:
        return chat_engine.BAD_BUTTON
    if ctx.user is None or ctx.user.status != UserStatus.ACTIVE:
        return "Your account cannot play right now."
    if not ctx.actor.private:
        return chat_engine.PRIVATE_ONLY
    message = query.message
    if journey.stale_press(payload.issued_at, ctx.now):
        if message is not None:
            await redraw_panel(query.bot, ctx, subscribed_bot_id, message.chat.id, message.message_id)
        return chat_engine.STALE
    target = PressTarget(surface="telegram", external_user_id=ctx.actor.external_user_id,
                         chat_id=str(message.chat.id) if message else ctx.actor.chat_id,
                         message_id=str(message.message_id) if message else "")
    try:
        result = await game_engine().press(
            user_id=ctx.user.pk, subscribed_bot_id=subscribed_bot_id, side=side,
            idempotency_key=journey.press_key(ctx.actor, raw.rpartition(payloads.SEPARATOR)[2]), target=target,
            received_ns=received_ns)
    except Exception as error:
        if not isinstance(error, ApplicationError):
            logger.exception("a Ttadak press failed")
        return journey.error_text(error)
    return result.text


async def _edit(bot: Bot, chat_id: int | str, message_id: int | str, kwargs: dict) -> None:
    try:
        await bot.edit_message_text(chat_id=chat_id, message_id=int(message_id), **kwargs)
    except TelegramBadRequest as error:
        if "not modified" in error.message:
            return
        if "not found" in error.message or "can't be edited" in error.message:
            await bot.send_message(chat_id=chat_id, **kwargs)
            return
        raise


async def redraw(bot: Bot, game_id: int) -> None:
    """The engine's notifier: draw the game's panel again where it was pressed."""
    drawn = await sync_to_async(journey.panel_for_game)(game_id)
    if drawn is None:
        return
    screen, game = drawn
    if game.message_id:
        await _edit(bot, game.chat_id, game.message_id, screen_message_kwargs(screen))
    else:
        await bot.send_message(chat_id=game.chat_id, **screen_message_kwargs(screen))


async def redraw_panel(bot: Bot, ctx: Ctx, subscribed_bot_id: int, chat_id: int, message_id: int) -> None:
    try:
        screen = await sync_to_async(journey.panel)(ctx, subscribed_bot_id)
    except ApplicationError:
        return
    await _edit(bot, chat_id, message_id, screen_message_kwargs(screen))
