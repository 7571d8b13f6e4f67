"""Ttadak's fast path on Telegram: BUY GAME / SELL GAME presses go straight to the game engine.

The panel's buttons are ordinary core buttons (`a:tg|L|<bot>|<stamp>|<sig>`). `GamePressMiddleware`
(installed by `setup` right after aiogram's own middlewares) plays a press from a person whose account
this process remembers (ttadak.identities: whoever was shown a panel) without the FSM state lookup and
the chat session resolution — the signature is checked against that account, and the press's
transaction checks the chat identity and the account again. Everything else falls through to the
router (`on_press`, before the core's): the same checks with the session resolved. No Redis tap lock
either way: the press's idempotency key (the button's signature) is unique in the database. The engine
redraws the panel in place as the game moves on (sent → in play → result).

On start-up the router attaches this loop's engine to the process (ttadak.host), warms every running
Ttadak bot and resumes watching Telegram games in play; on shutdown it closes the engine.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.dispatcher.middlewares.error import ErrorsMiddleware
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, TelegramObject, Update
from asgiref.sync import sync_to_async

from chat import engine as chat_engine
from chat import payloads
from chat.context import Actor, Ctx
from chat.telegram import lanes
from chat.telegram.render import screen_message_kwargs
from core.errors import ApplicationError, NotFound, PermissionDenied
from ttadak import chat as journey
from ttadak import identities
from ttadak.services.games import PressTarget
from users.models import UserStatus

logger = logging.getLogger(__name__)
PREFIX = f"a:{journey.PRESS_CODE}{payloads.SEPARATOR}"
MAX_ALERT = 200


_pinned_response_models: list[type] = []


def pin_response_models() -> None:
    """aiogram validates each Bot API answer with `Response[method.__returning__]`, and pydantic caches such
    parametrized models only weakly: between two calls the garbage collector drops the class and the next
    call rebuilds its schema — ~10 ms of CPU on this machine for every getUpdates batch, i.e. on every
    press. Holding them makes every call a cache hit (once per process, a few hundred ms at start-up)."""
    if _pinned_response_models:
        return
    import aiogram.methods as methods
    from aiogram.methods.base import Response, TelegramMethod

    returning = {getattr(cls, "__returning__", None) for cls in vars(methods).values()
                 if isinstance(cls, type) and issubclass(cls, TelegramMethod) and cls is not TelegramMethod}
    for kind in returning - {None}:
        try:
            _pinned_response_models.append(Response[kind])
        except TypeError:  # not a type pydantic can parametrize with; that method keeps the slow path
            continue


def build_router() -> Router:
    pin_response_models()
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


def setup(dispatcher: Dispatcher) -> None:
    """Put the game-press middleware right after aiogram's own (errors, user context) and before the FSM's
    and the platform's session middleware: a press needs neither the FSM state nor the chat session."""
    manager = dispatcher.update.outer_middleware
    later = [m for m in list(manager) if not isinstance(m, ErrorsMiddleware | UserContextMiddleware)]
    for middleware in later:
        manager.unregister(middleware)
    manager.register(GamePressMiddleware())
    for middleware in later:
        manager.register(middleware)
    lanes.register(press_lane)


class GamePressMiddleware(BaseMiddleware):
    """The press's fast path when the lane did not take it (webhook mode, or an update the lane could
    not claim): a game button from a person whose account this process already knows
    (ttadak.identities) is verified and played here. Anything else — an unknown person, a group chat, a
    button not signed for the remembered account, a stale panel — continues down the full chain, where
    `on_press` answers it with the chat session resolved. A press the lane already played stops here."""

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        query = event.callback_query if isinstance(event, Update) else None
        if query is None or not (query.data or "").startswith(PREFIX):
            return await handler(event, data)
        if query.id in _claimed:
            _claimed.discard(query.id)
            return None
        received = time.perf_counter_ns()
        person, chat = data.get("event_from_user"), data.get("event_chat")
        if person is None or person.is_bot or chat is None or chat.type != "private":
            return await handler(event, data)
        claim = _claim(str(person.id), query.data or "")
        if claim is None:
            return await handler(event, data)
        text = await _play(_target(query, str(person.id)), *claim, received)
        await query.answer(text=text[:MAX_ALERT] or None, show_alert=len(text) > 60)
        return None


def _target(query: CallbackQuery, person: str) -> PressTarget:
    """Where a parsed press came from (the lane reads the same fields from the raw update)."""
    message = query.message
    return PressTarget(surface="telegram", external_user_id=person,
                       chat_id=str(message.chat.id) if message else person,
                       message_id=str(message.message_id) if message else "")


# Callback queries the lane has played: their normal dispatch (which still happens) must not play them again.
_claimed: set[str] = set()


def _claim(person: str, data: str) -> tuple[int, str, int, str] | None:
    """(owner, side, bot, payload) of a press from a remembered person with a valid, fresh button for that
    account; None when it must take the full path instead."""
    owner_id = identities.recall(surface="telegram", team_id="", external_user_id=person)
    if owner_id is None:
        return None
    raw = data[2:]
    now = datetime.now(UTC)
    try:
        payload = payloads.decode(raw, owner_id=owner_id)
        side, subscribed_bot_id = journey.press_args(payload.args)
    except (payloads.PayloadError, ApplicationError):
        return None
    if payload.issued_at > now + chat_engine.CLOCK_SKEW or journey.stale_press(payload.issued_at, now):
        return None
    return owner_id, side, subscribed_bot_id, raw


def press_lane(bot: Bot, updates: list[dict[str, Any]], received_ns: int) -> list[asyncio.Task]:
    """The Telegram lane (chat.telegram.lanes): play game presses from the raw getUpdates answer, before
    aiogram parses the batch and before it sends the next getUpdates."""
    started = []
    for update in updates:
        query = update.get("callback_query")
        if not isinstance(query, dict) or not str(query.get("data") or "").startswith(PREFIX):
            continue
        person, message = query.get("from") or {}, query.get("message") or {}
        chat = message.get("chat") or {}
        if person.get("is_bot") or chat.get("type") != "private" or "id" not in person or "id" not in query:
            continue
        claim = _claim(str(person["id"]), str(query["data"]))
        if claim is None:
            continue
        _claimed.add(str(query["id"]))
        target = PressTarget(surface="telegram", external_user_id=str(person["id"]), chat_id=str(chat["id"]),
                             message_id=str(message.get("message_id") or ""))
        started.append(asyncio.get_running_loop().create_task(
            _lane_play(bot, str(query["id"]), target, claim, received_ns)))
    return started


async def _lane_play(bot: Bot, query_id: str, target: PressTarget, claim: tuple[int, str, int, str],
                     received_ns: int) -> None:
    text = await _play(target, *claim, received_ns)
    try:
        await bot.answer_callback_query(callback_query_id=query_id, text=text[:MAX_ALERT] or None,
                                        show_alert=len(text) > 60)
    except Exception:
        logger.warning("answering Ttadak press %s failed", query_id, exc_info=True)


async def _play(target: PressTarget, user_id: int, side: str, subscribed_bot_id: int, raw: str,
                received_ns: int) -> str:
    from ttadak.engine import game_engine

    try:
        result = await game_engine().press(
            user_id=user_id, subscribed_bot_id=subscribed_bot_id, side=side, target=target,
            idempotency_key=journey.button_press_key(
                Actor(surface="telegram", external_user_id=target.external_user_id), raw),
            received_ns=received_ns)
    except Exception as error:
        if isinstance(error, NotFound | PermissionDenied):
            identities.forget(surface="telegram", team_id="", external_user_id=target.external_user_id)
        elif not isinstance(error, ApplicationError):
            logger.exception("a Ttadak press failed")
        return journey.error_text(error)
    return result.text


async def on_press(query: CallbackQuery, ctx: Ctx) -> None:
    if ctx.user is not None:
        identities.remember(surface="telegram", team_id="", external_user_id=ctx.actor.external_user_id,
                            user_id=ctx.user.pk)
    text = await press(query, ctx, time.perf_counter_ns())
    text = text[:MAX_ALERT]
    await query.answer(text=text or None, show_alert=len(text) > 60)


async def press(query: CallbackQuery, ctx: Ctx, received_ns: int | None = None) -> str:
    """Verify the button, then play. Returns the short answer for the person who pressed."""
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
    return await _play(_target(query, ctx.actor.external_user_id), ctx.user.pk, side, subscribed_bot_id, raw,
                       received_ns or time.perf_counter_ns())


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
