"""Composition root of the Slack app: a Bolt App whose Web API client points at SLACK_API_BASE.

HTTP: Bolt verifies every request's signature (and refuses timestamps older than 5 minutes); it is mounted
in Django at /slack/events (chat.slack.urls) and `ldp slack` can serve it on its own port. Socket Mode
when SLACK_APP_TOKEN is set.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from django.conf import settings
from slack_bolt import App
from slack_sdk import WebClient

logger = logging.getLogger(__name__)


def build_app(*, token: str | None = None, signing_secret: str | None = None, api_base: str | None = None,
              process_before_response: bool = False) -> App:
    """A Bolt App with every listener registered.

    `process_before_response=True` (tests, FaaS) finishes listeners before answering Slack; the default
    answers at ack() and finishes in a worker thread — listeners ack first, within Slack's 3 seconds.
    """
    client = WebClient(token=token or settings.SLACK_BOT_TOKEN, base_url=api_base or settings.SLACK_API_BASE)
    app = App(
        client=client,
        signing_secret=signing_secret or settings.SLACK_SIGNING_SECRET or None,
        token_verification_enabled=False,  # no auth.test at start-up: the process starts without network
        process_before_response=process_before_response,
        ignoring_self_events_enabled=True,
    )
    register_listeners(app)
    return app


def register_listeners(app: App) -> None:
    from chat.slack.listeners import actions, commands, events, views

    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)


@lru_cache(maxsize=1)
def default_app() -> App:
    """The app built from settings (one per process)."""
    return build_app()


def run_http(port: int, path: str = "/slack/events") -> None:
    default_app().start(port=port, path=path, http_server_logger_enabled=False)


def run_socket_mode() -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(default_app(), settings.SLACK_APP_TOKEN).start()
