from __future__ import annotations

from slack_bolt import App

from chat.slack.listeners.events import app_home, messages


def register(app: App) -> None:
    app.event("app_home_opened")(app_home.on_app_home_opened)
    app.event("message")(messages.on_message)
