"""`ldp test`: lint, then the whole test suite (what README command 2 and .ci/run call)."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys

from config.env import BASE_DIR


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("test", help="run ruff and the test suite (other options go to pytest)")
    parser.set_defaults(handler=run, passes_extra_args=True, extra_args=[])


# README command 1 installs the platform without these; README command 2 adds them (the `[test]` extras).
TEST_TOOLS = ("ruff", "pytest", "pytest_django", "factory", "hypothesis")


def missing_test_tools() -> list[str]:
    missing = []
    for name in TEST_TOOLS:
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:
            found = False
        if not found:
            missing.append(name)
    return missing


def run(args: argparse.Namespace) -> int:
    missing = missing_test_tools()
    if missing:
        print(f"ldp test needs the test dependencies ({', '.join(missing)} missing). Install them with\n"
              "  .venv/bin/pip install -q -e '.[test]'   (README command 2)", file=sys.stderr)
        return 2
    print("• ruff check", flush=True)
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=BASE_DIR)
    if lint.returncode != 0:
        return lint.returncode
    print("• pytest", flush=True)
    return subprocess.run([sys.executable, "-m", "pytest", *args.extra_args], cwd=BASE_DIR).returncode
