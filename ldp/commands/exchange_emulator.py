"""`ldp exchange-emulator` — a local Binance USDⓈ-M futures emulator (see docs/exchanges-and-gateways.md)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from emulators.exchange.cli import add_arguments, run

    parser = subparsers.add_parser(
        "exchange-emulator",
        help="run the local Binance USDⓈ-M futures emulator (ccxt binanceusdm talks to it unmodified)",
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)
