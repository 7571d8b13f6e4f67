"""Who is acting (Actor from a Slack payload) and how a core Reply is shown on Slack."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chat import engine
from chat.context import Actor, Ctx
from chat.screens import Reply, Screen
from chat.slack.render import form_modal, home_view, screen_message_kwargs

logger = logging.getLogger(__name__)

# Polled screens (simulation progress) are re-drawn in a background thread this often, at most this long.
POLL_IN_BACKGROUND = True
POLL_INTERVAL_SECONDS = 2.0
POLL_MAX_SECONDS = 30 * 60


def _actor(team_id: str, user_id: str, username: str = "") -> Actor:
    # Slack: replies are ephemeral or in the app's DM, and every button is checked against the person
    # who pressed it, so each Slack person acts "privately" even inside a channel.
    return Actor(surface="slack", external_user_id=user_id, team_id=team_id, chat_id=user_id, username=username,
                 private=True)


def actor_from_command(command: dict[str, Any]) -> Actor:
    return _actor(command.get("team_id") or "", command["user_id"], command.get("user_name") or "")


def actor_from_body(body: dict[str, Any]) -> Actor:
    user = body.get("user") or {}
    team = (body.get("team") or {}).get("id") or user.get("team_id") or ""
    return _actor(team, user["id"], user.get("username") or user.get("name") or "")


def actor_from_event(event: dict[str, Any], body: dict[str, Any]) -> Actor:
    return _actor(body.get("team_id") or event.get("team") or "", event["user"])


def post_screen(client: WebClient, ctx: Ctx, screen: Screen) -> dict[str, Any] | None:
    """Post a screen to the user's DM with the app (a chart goes first, as a file)."""
    channel = ctx.actor.chat_id or ctx.actor.external_user_id
    if screen.image is not None:
        _upload_image(client, channel, screen)
    try:
        return client.chat_postMessage(channel=channel, **screen_message_kwargs(screen)).data  # type: ignore[return-value]
    except SlackApiError:
        logger.exception("posting a screen to Slack failed")
        return None


def _upload_image(client: WebClient, channel: str, screen: Screen) -> None:
    assert screen.image is not None
    try:
        client.files_upload_v2(channel=channel, content=screen.image.png, filename=screen.image.name,
                               title=screen.title or screen.image.alt)
    except SlackApiError:
        logger.exception("uploading a chart to Slack failed")


def show(client: WebClient, ctx: Ctx, reply: Reply, *, respond: Respond | None, trigger_id: str | None,
         edit: bool, in_home: bool = False) -> None:
    """Show a core reply: a form opens as a modal; a screen replaces the pressed message (or the Home
    tab) or is sent; an alert is an ephemeral line."""
    if reply.form is not None and trigger_id:
        client.views_open(trigger_id=trigger_id, view=form_modal(reply.form))
        return
    if reply.delete_origin and respond is not None:
        respond(delete_original=True)
        edit = False
    screen = reply.screen
    if screen is not None and screen.ephemeral:
        _show_ephemeral(client, ctx, screen, respond=respond)
        return
    if screen is not None and screen.image is not None:
        # Images go to the DM as a file upload, then the screen as a message.
        _upload_image(client, ctx.actor.chat_id or ctx.actor.external_user_id, screen)
        screen = Screen(text=screen.text, title=screen.title, rows=screen.rows, poll=screen.poll)
    if reply.alert:
        _show_alert(client, ctx, reply.alert, respond=respond)
    if screen is None:
        return
    if screen.poll:
        posted = post_screen(client, ctx, screen)
        if posted and POLL_IN_BACKGROUND:
            threading.Thread(target=_poll, args=(client, ctx.actor, posted["channel"], posted["ts"], screen.poll),
                             daemon=True, name="slack-poll").start()
    elif in_home and reply.edit and edit:
        client.views_publish(user_id=ctx.actor.external_user_id, view=home_view(screen))
    elif respond is not None:
        respond(**screen_message_kwargs(screen), response_type="ephemeral", replace_original=bool(edit and reply.edit))
    else:
        post_screen(client, ctx, screen)
    for extra in reply.extra:
        post_screen(client, ctx, extra)


def _show_alert(client: WebClient, ctx: Ctx, alert: str, *, respond: Respond | None) -> None:
    if respond is not None:
        respond(text=alert, response_type="ephemeral", replace_original=False)
    else:
        client.chat_postMessage(channel=ctx.actor.chat_id or ctx.actor.external_user_id, text=alert)


def _show_ephemeral(client: WebClient, ctx: Ctx, screen: Screen, *, respond: Respond | None) -> None:
    """A screen with a secret shown once: only to this user, never into the DM's history or the App Home."""
    if respond is not None:
        respond(**screen_message_kwargs(screen), response_type="ephemeral", replace_original=False)
        return
    try:
        client.chat_postEphemeral(channel=ctx.actor.chat_id or ctx.actor.external_user_id,
                                  user=ctx.actor.external_user_id, **screen_message_kwargs(screen))
    except SlackApiError:
        logger.exception("posting an ephemeral screen to Slack failed")


def _poll(client: WebClient, actor: Actor, channel: str, ts: str, payload: str) -> None:
    from django.db import close_old_connections

    deadline = time.monotonic() + POLL_MAX_SECONDS
    try:
        while payload and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL_SECONDS)
            ctx = engine.session_open(actor)
            reply = engine.handle_action(ctx, payload)
            if reply.screen is None:
                return
            screen = reply.screen
            if screen.image is not None:
                _upload_image(client, channel, screen)
            client.chat_update(channel=channel, ts=ts, **screen_message_kwargs(screen))
            payload = screen.poll
    except Exception:
        logger.exception("polling a Slack screen failed")
    finally:
        close_old_connections()
