"""`ldp test`: lint, then the whole test suite (what README command 2 and .ci/run call)."""

from __future__ import annotations

import argparse
import subprocess
import sys

from config.env import BASE_DIR


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("test", help="run ruff and the test suite (other options go to pytest)")
    parser.set_defaults(handler=run, passes_extra_args=True, extra_args=[])


def run(args: argparse.Namespace) -> int:
    print("• ruff check", flush=True)
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=BASE_DIR)
    if lint.returncode != 0:
        return lint.returncode
    print("• pytest", flush=True)
    return subprocess.run([sys.executable, "-m", "pytest", *args.extra_args], cwd=BASE_DIR).returncode
