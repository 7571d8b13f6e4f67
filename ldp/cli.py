"""`ldp` — one entry point. Each module in ldp/commands/ adds one subcommand through `register`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import ldp.commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ldp", description="L&D Platform command line.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_info in sorted(pkgutil.iter_modules(ldp.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"ldp.commands.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # Commands that wrap another tool (`ldp test` → pytest) take its options through unchanged.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not getattr(args, "passes_extra_args", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.extra_args = extra
    result = args.handler(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
