"""App Home tab: the user's dashboard (the core's home screen), published when they open it."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from chat import engine
from chat.slack.render import home_view
from chat.slack.session import actor_from_event


def on_app_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
    if event.get("tab") not in (None, "home"):
        return
    ctx = engine.session_open(actor_from_event(event, body))
    client.views_publish(user_id=event["user"], view=home_view(engine.home_screen(ctx)))
