"""Block Kit buttons (messages, App Home) → chat.engine.handle_action. The pressing user is the actor: a
button drawn for someone else (a channel) fails its signature check in the core."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from chat import engine
from chat.slack.session import actor_from_body, show


def on_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
    ack()
    ctx = engine.session_open(actor_from_body(body))
    reply = engine.handle_action(ctx, action.get("value"))
    view = body.get("view") or {}
    show(client, ctx, reply, respond=respond if body.get("response_url") else None,
         trigger_id=body.get("trigger_id"), edit=True, in_home=view.get("type") == "home")
