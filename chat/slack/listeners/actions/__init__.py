from __future__ import annotations

import re

from slack_bolt import App

from chat.slack.listeners.actions import buttons
from chat.slack.render import ACTION_PREFIX


def register(app: App) -> None:
    app.action(re.compile(rf"^{re.escape(ACTION_PREFIX)}"))(buttons.on_button)
