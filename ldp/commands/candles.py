"""`ldp candles load|import|generate|list`: fill and inspect the candle store."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from ldp.commands.simulate import _moment


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("candles", help="load candles from an exchange or CSV; generate synthetic ones")
    commands = parser.add_subparsers(dest="candles_command", metavar="ACTION")
    commands.required = True

    load = commands.add_parser("load", help="fetch closed bars via ccxt (resumes; re-fetches holes)")
    load.add_argument("--exchange", default="binanceusdm", help="ccxt id (default binanceusdm)")
    load.add_argument("--symbol", required=True, help="e.g. BTC/USDT")
    load.add_argument("--timeframe", default="1m")
    load.add_argument("--start", type=_moment, required=True)
    load.add_argument("--end", type=_moment, default=None, help="default: now")
    load.add_argument("--page", type=int, default=1000, help="bars per request")
    load.set_defaults(handler=run_load)

    imp = commands.add_parser("import", help="import a CSV: timestamp,open,high,low,close,volume (ms UTC)")
    imp.add_argument("file")
    imp.add_argument("--symbol", required=True)
    imp.add_argument("--exchange", default="csv", help="source name to store under (default csv)")
    imp.add_argument("--timeframe", help="default: inferred from the timestamps")
    imp.set_defaults(handler=run_import)

    gen = commands.add_parser("generate", help="store SYNTHETIC 1m candles from the seeded generator")
    gen.add_argument("--symbol", action="append", help="repeatable; default BTC/USDT, ETH/USDT, SOL/USDT")
    gen.add_argument("--days", type=float, default=21)
    gen.add_argument("--seed", type=int, default=None)
    gen.set_defaults(handler=run_generate)

    listing = commands.add_parser("list", help="what the store holds")
    listing.set_defaults(handler=run_list)


def _setup() -> None:
    from django.core.management import call_command

    from ldp.django_setup import setup_django

    setup_django()
    call_command("migrate", interactive=False, verbosity=0)


def _progress(total: int | None, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="bar", unit_scale=True, file=sys.stderr)


def _fail(exc) -> int:
    print(f"error{f' ({exc.field})' if exc.field else ''}: {exc.message}", file=sys.stderr)
    return 2


def run_load(args: argparse.Namespace) -> int:
    _setup()
    from core.errors import ApplicationError
    from marketdata.loaders import candles_load, ccxt_client

    bar = _progress(None, "fetching")
    try:
        report = candles_load(client=ccxt_client(args.exchange), exchange=args.exchange, symbol=args.symbol,
                              timeframe=args.timeframe, start=args.start, end=args.end or datetime.now(UTC),
                              page_limit=args.page, progress=bar.update)
    except ApplicationError as exc:
        return _fail(exc)
    finally:
        bar.close()
    print(f"{report.symbol} {report.timeframe} on {report.exchange}: {report.pages} pages, "
          f"{report.fetched} bars fetched, {report.stored} new")
    for start, end in report.gaps:
        print(f"  gap (the exchange has no bars): {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC")
    return 0


def run_import(args: argparse.Namespace) -> int:
    _setup()
    from core.errors import ApplicationError
    from marketdata.services import candles_import_csv

    try:
        report = candles_import_csv(path=args.file, symbol=args.symbol, exchange=args.exchange,
                                    timeframe=args.timeframe)
    except ApplicationError as exc:
        return _fail(exc)
    print(f"{report.rows} {report.timeframe} candles of {report.symbol} read, {report.stored} new "
          f"({report.first:%Y-%m-%d %H:%M} → {report.last:%Y-%m-%d %H:%M} UTC, source {report.exchange})")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    _setup()
    from marketdata.generator import DEFAULT_SEED
    from marketdata.services import candles_generate

    symbols = args.symbol or ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    bar = _progress(int(args.days * 1440) * len(symbols), "generating")
    stored = candles_generate(symbols=symbols, days=args.days, end=end,
                              seed=DEFAULT_SEED if args.seed is None else args.seed, progress=bar.update)
    bar.close()
    print(f"{stored} SYNTHETIC 1m candles stored (exchange 'synthetic'): {', '.join(symbols)}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    _setup()
    from marketdata.selectors import candle_coverage_list

    rows = candle_coverage_list()
    if not rows:
        print("the candle store is empty (try `ldp demo` or `ldp candles load`)")
    for row in rows:
        label = "  SYNTHETIC" if row.exchange == "synthetic" else ""
        print(f"{row.exchange:<12} {row.symbol:<12} {row.timeframe:<4} {row.count:>9} bars  "
              f"{row.first:%Y-%m-%d %H:%M} → {row.last:%Y-%m-%d %H:%M} UTC{label}")
    return 0
