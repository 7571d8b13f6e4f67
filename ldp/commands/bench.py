"""`ldp bench NAME`: benchmarks. Each module in ldp/benchmarks/ is one: it exposes `register(parser)` to add
its options and `run(args) -> int`. A benchmark prints a table and, as its last line, one JSON object."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import ldp.benchmarks


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark (ldp bench --help lists them)")
    names = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    names.required = True
    for info in sorted(pkgutil.iter_modules(ldp.benchmarks.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"ldp.benchmarks.{info.name}")
        doc = (module.__doc__ or info.name).strip().splitlines()[0]
        sub = names.add_parser(info.name, help=doc, description=module.__doc__)
        module.register(sub)
        sub.set_defaults(handler=module.run)
