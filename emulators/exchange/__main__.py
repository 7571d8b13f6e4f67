"""`python -m emulators.exchange` — the emulator without the ldp CLI (used by tests' subprocesses)."""

from __future__ import annotations

import argparse
import sys

from emulators.exchange.cli import add_arguments, run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m emulators.exchange", description=__doc__)
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
