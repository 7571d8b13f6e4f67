"""`ldp slack`: serve the Slack app — Socket Mode when SLACK_APP_TOKEN is set, else HTTP (Bolt verifies
signatures). The web process also serves it at /slack/events."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "slack", help="serve the Slack app (SLACK_BOT_TOKEN; Socket Mode with SLACK_APP_TOKEN)"
    )
    parser.add_argument("--port", type=int, default=3000, help="HTTP mode: port for /slack/events")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ldp.django_setup import ensure_broker, setup_django

    ensure_broker()
    setup_django()
    from django.conf import settings

    if not settings.SLACK_BOT_TOKEN:
        print("SLACK_BOT_TOKEN is not set; try `ldp chat` for the same conversation in the terminal.")
        return 2
    from chat.slack import app as slack_app

    if settings.SLACK_APP_TOKEN:
        slack_app.run_socket_mode()
    else:
        if not settings.SLACK_SIGNING_SECRET:
            print("SLACK_SIGNING_SECRET is required in HTTP mode (Slack signs every request).")
            return 2
        slack_app.run_http(args.port)
    return 0
