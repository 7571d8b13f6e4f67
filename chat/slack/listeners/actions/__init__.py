from __future__ import annotations

import re

from slack_bolt import App

from chat.slack.listeners.actions import buttons
from chat.slack.render import ACTION_PREFIX


def register(app: App) -> None:
    from chat.optional import lookup

    ttadak = lookup("ttadak.slack:register")  # game presses first: they take their own fast path
    if ttadak is not None:
        ttadak(app)
    app.action(re.compile(rf"^{re.escape(ACTION_PREFIX)}"))(buttons.on_button)
