"""`/ldp <command> [args]` — `/ldp funds`, `/ldp bots`, `/ldp report`, `/ldp link CODE`. Answers are
ephemeral (only the person who typed sees them), so it works in channels too; buttons are signed for them."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from chat import engine
from chat.slack.session import actor_from_command, show


def on_ldp(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
    ack()
    name, _, arg = (command.get("text") or "").strip().partition(" ")
    ctx = engine.session_open(actor_from_command(command))
    reply = engine.handle_command(ctx, name or "start", arg)
    show(client, ctx, reply, respond=respond, trigger_id=command.get("trigger_id"), edit=False)
