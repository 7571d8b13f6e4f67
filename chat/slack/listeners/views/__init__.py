from __future__ import annotations

from slack_bolt import App

from chat.slack.listeners.views import forms
from chat.slack.render import FORM_CALLBACK_ID


def register(app: App) -> None:
    app.view(FORM_CALLBACK_ID)(forms.on_submit)
