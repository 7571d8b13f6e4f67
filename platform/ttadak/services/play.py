"""Playing from outside a chat fast path: a press through the API, and CLOSE NOW (API and the panel).

Both go to this process's game engine (ttadak.host) like the chat surfaces' presses do: a sync caller
(an API worker, the Slack app's listener threads, the terminal) hands the work to its engine thread and
waits for the answer. The Telegram process's engine lives on aiogram's own loop, which a sync handler
must not block: there CLOSE NOW is handed to that loop and the engine redraws the panel with the result
(its notifier), as it does when a game ends by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async

from core.errors import ApplicationError, Conflict, TemporaryError, ValidationError
from ttadak.models import FINAL_STATES, CloseReason, Game, GameSide, GameState
from ttadak.selectors import game_by_key_get, game_get_for_user, ttadak_bot_get_for_user
from ttadak.services import games as game_services
from users.models import User
from users.services import user_require_active

logger = logging.getLogger(__name__)

API_SURFACE = "api"  # Game.surface of a press made through the API (no panel to redraw)
# Games that CLOSE NOW can end: in play, or with their orders on the way (it waits for them to settle).
CLOSABLE_STATES = (GameState.SENDING, GameState.OPEN)
PRESS_TIMEOUT_SECONDS = 20.0
CLOSE_TIMEOUT_SECONDS = 30.0
SENDING_WAIT_SECONDS = 5.0  # a press's legs normally settle within milliseconds
SENDING_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class PressOutcome:
    game: Game
    duplicate: bool  # the key was used before: this is the first press's game, no new one was started
    text: str


@dataclass(frozen=True)
class CloseOutcome:
    game: Game
    done: bool  # False: handed to the engine's loop (Telegram); the result reaches the panel when it is in
    text: str


def api_press_key(*, user_id: int, subscribed_bot_id: int, key: str) -> str:
    """The game's idempotency key for an API press: the client's key, scoped to the user and the bot."""
    return f"{API_SURFACE}:{user_id}:{subscribed_bot_id}:{key}"


def _engine_host(surface: str = "") -> Any:
    from ttadak import host

    return host.thread_host(surface=surface)


def _repeat(game: Game, side: str) -> PressOutcome:
    if game.side != side:
        raise Conflict(f"This idempotency key already started {game.get_side_display()} #{game.pk}; use a new key "
                       "for a new game.", field="idempotency_key")
    return PressOutcome(game=game, duplicate=True, text=f"That press already started {game.get_side_display()} "
                                                        f"#{game.pk}.")


def game_press_via_api(*, user: User, subscribed_bot_id: int, side: str, key: str) -> PressOutcome:
    """BUY GAME (side "long") / SELL GAME ("short") through the API, on this process's engine — the same
    `GameEngine.press` as the chat surfaces. One key = one game: a repeated key returns the first game
    (even after STOP), never a second one; the same key for the other side is a Conflict."""
    user_require_active(user)
    subscribed_bot = ttadak_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    if side not in GameSide.values:
        raise ValidationError("side must be long or short", field="side")
    game_key = api_press_key(user_id=user.pk, subscribed_bot_id=subscribed_bot.pk, key=key)
    existing = game_by_key_get(subscribed_bot_id=subscribed_bot.pk, idempotency_key=game_key)
    if existing is not None:
        return _repeat(existing, side)
    from ttadak.services.games import PressTarget

    target = PressTarget(surface=API_SURFACE, external_user_id=str(user.pk))
    user_id, bot_id = user.pk, subscribed_bot.pk
    try:
        result = _engine_host().run(lambda engine: engine.press(
            user_id=user_id, subscribed_bot_id=bot_id, side=side, idempotency_key=game_key, target=target),
            timeout=PRESS_TIMEOUT_SECONDS)
    except TimeoutError:
        raise TemporaryError("The exchange is slow to answer. Send the same request again (same idempotency "
                             "key) to see the game.") from None
    game = game_services.game_load(result.game_id)
    if result.duplicate:  # the same key raced in at the same moment
        return _repeat(game, side)
    return PressOutcome(game=game, duplicate=False, text=result.text)


def game_close_check(*, user: User, game_id: int) -> Game:
    """The user's game, if CLOSE NOW can still end it; NotFound for anyone else's, Conflict otherwise."""
    game = game_get_for_user(user=user, game_id=game_id)
    name = f"{game.get_side_display()} #{game.pk}"
    if game.state in FINAL_STATES:
        raise Conflict(f"{name} has already ended: {game_services.result_line(game)}.")
    if game.state == GameState.CLOSING:
        raise Conflict(f"{name} is already closing.")
    if game.state == GameState.ATTENTION:
        raise Conflict(f"{name} needs attention; the platform keeps trying to close it: {game.message}")
    return game


async def close_on_engine(engine: Any, game_id: int, *, sending_wait: float = SENDING_WAIT_SECONDS) -> Game:
    """On the engine's loop: let a just-sent game settle, then `GameEngine.close_now` (reason manual).
    Returns the game as it ended; Conflict when something else ended it first or it never settled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + sending_wait
    state_get = sync_to_async(game_services.game_state_get)
    state = await state_get(game_id=game_id)
    while state == GameState.SENDING and loop.time() < deadline:
        await asyncio.sleep(SENDING_POLL_SECONDS)
        state = await state_get(game_id=game_id)
    ended = state == GameState.OPEN and await engine.close_now(game_id, reason=CloseReason.MANUAL)
    game = await sync_to_async(game_services.game_load)(game_id)
    if ended:
        return game
    name = f"{game.get_side_display()} #{game.pk}"
    if game.state == GameState.SENDING:
        raise Conflict(f"{name}: its orders are still on their way to the exchange; try again in a moment.")
    if game.state in FINAL_STATES:
        raise Conflict(f"{name} had already ended: {game_services.result_line(game)}.")
    raise Conflict(f"{name} is already closing.")


def _hand_to_loop(engine_host: Any, make: Callable[[Any], Awaitable[Any]]) -> None:
    """Start `make(engine)` on an adapter's loop without waiting (EngineHost.spawn_soon: in a fresh context,
    not this worker thread's asgiref state)."""
    async def run(engine: Any) -> None:
        try:
            await make(engine)
        except ApplicationError as error:
            logger.info("CLOSE NOW: %s", error.message)
        except Exception:
            logger.exception("CLOSE NOW failed; the sweep takes the game over")

    engine_host.spawn_soon(run)


def game_close_now(*, user: User, game_id: int, surface: str = "") -> CloseOutcome:
    """CLOSE NOW: end one of the user's games in play at market (the exit cancelled, the position closed,
    reason manual) through this process's engine. `surface` names the chat process whose thread host this
    may start ("slack": it also warms that surface's bots). Raises NotFound / Conflict (already ended)."""
    from ttadak import host

    game = game_close_check(user=user, game_id=game_id)
    name = f"{game.get_side_display()} #{game.pk}"
    current = host.current()
    if current is not None and current.thread is None:
        _hand_to_loop(current, lambda engine: close_on_engine(engine, game.pk))
        return CloseOutcome(game=game, done=False, text=f"Closing {name} at market…")
    try:
        closed = _engine_host(surface).run(lambda engine: close_on_engine(engine, game.pk),
                                           timeout=CLOSE_TIMEOUT_SECONDS)
    except TimeoutError:
        raise TemporaryError(f"Closing {name} takes longer than usual; the platform goes on with it. Look at the "
                             "game again in a moment.") from None
    text = (game_services.result_line(closed) if closed.state in FINAL_STATES else
            f"{name}: {closed.message}" if closed.message else f"{name} is {closed.get_state_display().lower()}.")
    return CloseOutcome(game=closed, done=True, text=text)
