from __future__ import annotations

from slack_bolt import App

from chat.slack.listeners.commands import ldp


def register(app: App) -> None:
    app.command("/ldp")(ldp.on_ldp)
