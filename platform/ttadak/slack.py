"""Ttadak on Slack: BUY GAME / SELL GAME presses claimed before the core's button listener.

Bolt runs listeners in worker threads; the press is handed to this process's engine thread
(ttadak.host.thread_host) and answered when both legs have reached the exchange. The key of the press
is the pressed button's signature (one press = one game, a retried delivery finds the first game); the
message that holds the panel (channel + ts) is kept with the game so the engine can redraw it in place
as the game moves on — or, for an ephemeral panel that cannot be edited, post the result to the DM.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from asgiref.sync import sync_to_async
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chat import engine as chat_engine
from chat import payloads
from chat.screens import Reply, Screen
from chat.slack.render import ACTION_PREFIX, screen_message_kwargs
from chat.slack.session import actor_from_body, show
from core.errors import ApplicationError
from ttadak import chat as journey
from users.models import UserStatus

logger = logging.getLogger(__name__)
VALUE_PREFIX = f"{journey.PRESS_CODE}{payloads.SEPARATOR}"
PRESS_TIMEOUT_SECONDS = 20.0


def is_game_press(action: dict[str, Any]) -> bool:
    """BUY / SELL GAME only: every other panel button (START, STOP, CLOSE NOW …) is the core listener's."""
    return str(action.get("value") or "").startswith(VALUE_PREFIX)


def register(app: App) -> None:
    """Call before the core's button listener is registered (Bolt runs the first listener that matches)."""
    app.action(re.compile(rf"^{re.escape(ACTION_PREFIX)}"), matchers=[is_game_press])(on_game_press)


def on_game_press(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                  client: WebClient) -> None:
    ack()
    ctx = chat_engine.session_open(actor_from_body(body))
    reply = press(ctx, str(action.get("value") or ""), body.get("container") or {}, client)
    view = body.get("view") or {}
    show(client, ctx, reply, respond=respond if body.get("response_url") else None, trigger_id=None, edit=True,
         in_home=view.get("type") == "home")


def press(ctx: Any, raw: str, container: dict[str, Any], client: WebClient) -> Reply:
    from ttadak import host
    from ttadak.services.games import PressTarget

    try:
        payload = payloads.decode(raw, owner_id=ctx.owner_id)
        side, subscribed_bot_id = journey.press_args(payload.args)
    except (payloads.PayloadError, ApplicationError):
        return Reply(alert=chat_engine.BAD_BUTTON)
    if ctx.user is None or ctx.user.status != UserStatus.ACTIVE or payload.issued_at > ctx.now + chat_engine.CLOCK_SKEW:
        return Reply(alert=chat_engine.BAD_BUTTON)
    if journey.stale_press(payload.issued_at, ctx.now):
        return Reply(screen=journey.panel(ctx, subscribed_bot_id), edit=True, alert=chat_engine.STALE)
    ephemeral = bool(container.get("is_ephemeral")) or container.get("type") != "message"
    target = PressTarget(surface="slack", external_user_id=ctx.actor.external_user_id, team_id=ctx.actor.team_id,
                         chat_id=str(container.get("channel_id") or ctx.actor.chat_id),
                         message_id="" if ephemeral else str(container.get("message_ts") or ""))
    engine_host = host.thread_host(surface="slack")
    engine_host.engine.notifiers["slack"] = lambda game_id: redraw(client, game_id)
    key = journey.button_press_key(ctx.actor, raw)
    user_id = ctx.user.pk
    try:
        result = engine_host.run(lambda engine: engine.press(
            user_id=user_id, subscribed_bot_id=subscribed_bot_id, side=side, idempotency_key=key, target=target),
            timeout=PRESS_TIMEOUT_SECONDS)
    except Exception as error:
        if not isinstance(error, ApplicationError):
            logger.exception("a Ttadak press failed")
        return Reply(alert=journey.error_text(error))
    return Reply(screen=journey.panel(ctx, subscribed_bot_id, note=result.text), edit=True)


async def redraw(client: WebClient, game_id: int) -> None:
    """The engine's notifier for Slack: edit the panel message, or post the panel to the person's DM."""
    drawn = await sync_to_async(journey.panel_for_game)(game_id)
    if drawn is None:
        return
    screen, game = drawn
    await asyncio.to_thread(_show, client, screen, game.chat_id, game.message_id, game.external_user_id)


def _show(client: WebClient, screen: Screen, channel: str, ts: str, user_id: str) -> None:
    try:
        if ts:
            client.chat_update(channel=channel, ts=ts, **screen_message_kwargs(screen))
        else:
            client.chat_postMessage(channel=user_id, **screen_message_kwargs(screen))
    except SlackApiError:
        logger.exception("redrawing a Ttadak panel on Slack failed")
