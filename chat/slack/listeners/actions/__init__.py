from __future__ import annotations

import re

from slack_bolt import App

from chat.slack.listeners.actions import buttons
from chat.slack.render import ACTION_PREFIX


def register(app: App) -> None:
    from ttadak.slack import register as ttadak_register

    ttadak_register(app)  # game presses first: they take their own fast path
    app.action(re.compile(rf"^{re.escape(ACTION_PREFIX)}"))(buttons.on_button)
