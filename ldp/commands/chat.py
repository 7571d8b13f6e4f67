"""`ldp chat`: try the product in the terminal — the same conversation core as Telegram and Slack."""

from __future__ import annotations

import argparse
import getpass


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("chat", help="chat with the platform in the terminal (no Telegram/Slack needed)")
    parser.add_argument("--user", default="", help="who you are in the terminal (default: your login name)")
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo catalog into an empty database")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    from ldp.django_setup import ensure_broker, setup_django

    ensure_broker()  # form steps live in Redis
    setup_django()
    call_command("migrate", interactive=False, verbosity=0)
    from core.demo import demo_catalog_is_loaded, demo_load

    if not args.no_demo and not demo_catalog_is_loaded():
        print("• empty database: loading the demo catalog …", flush=True)
        demo_load(progress=True)
    from chat.terminal import TerminalChat

    return TerminalChat(args.user or getpass.getuser()).run()
