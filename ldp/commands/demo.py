"""`ldp demo`: load the demo catalog (bots of all kinds, funds) and synthetic market data."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="load the demo catalog and a few weeks of synthetic candles")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    from ldp.django_setup import setup_django

    setup_django()
    call_command("migrate", interactive=False, verbosity=0)
    from core.demo import demo_admin_credentials_ensure, demo_load

    demo_load(progress=True)
    username, password = demo_admin_credentials_ensure()
    print(f"demo loaded; admin login: {username} / {password}")
    return 0
