"""Direct messages to the app: the next step of a form, or a hint. Channel chatter is ignored."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from chat import engine
from chat.slack.session import actor_from_event, show


def on_message(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return
    ctx = engine.session_open(actor_from_event(event, body))
    reply = engine.handle_text(ctx, event.get("text") or "")
    show(client, ctx, reply, respond=None, trigger_id=None, edit=False)
