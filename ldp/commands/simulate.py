"""`ldp simulate`: run a strategy over stored candles or a CSV file; summary table, then metrics as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-01-31 or 2024-01-31T12:00") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--param takes name=value (got {text!r})")
    return name.strip(), value.strip()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a strategy over stored candles or a CSV file",
        description="Decisions on each bar's close fill at the next bar's open (docs/simulation.md). "
        "The last line printed is a JSON object with the metrics.",
    )
    parser.add_argument("--strategy", required=True, help="sma_cross, rsi_reversion, bollinger_scalp, grid, …")
    parser.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE",
                        help="a strategy setting, e.g. --param fast=10 --param slow=30 (repeatable)")
    parser.add_argument("--symbol", help="market, e.g. BTC/USDT (default: the strategy's)")
    parser.add_argument("--timeframe", help="bar length, e.g. 1h (default: the strategy's; the CSV's own with --csv)")
    parser.add_argument("--start", type=_moment, help="first bar, ISO date/time, UTC unless given")
    parser.add_argument("--end", type=_moment, help="end of the range (exclusive), ISO date/time")
    parser.add_argument("--csv", metavar="FILE", help="candles CSV: timestamp,open,high,low,close,volume (ms UTC)")
    parser.add_argument("--exchange", help="source of stored candles (default: a real exchange, else synthetic)")
    parser.add_argument("--fee", type=float, default=0.001, help="fee rate per fill (default 0.001 = 0.1%%)")
    parser.add_argument("--slippage-bps", type=float, default=0.0, help="market-order slippage in basis points")
    parser.add_argument("--balance", type=float, default=10_000.0, help="starting balance (default 10000)")
    parser.add_argument("--leverage", type=int, help="futures leverage, isolated margin (default: the setting)")
    parser.add_argument("--trades-out", metavar="FILE", help="write the trades as CSV")
    parser.add_argument("--chart", metavar="FILE", help="write the chart as PNG")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _table(result) -> str:
    m = result.metrics
    candles = result.candles

    def pct(value) -> str:
        return "–" if value is None else f"{value * 100:.2f}%"

    rows = [
        ("strategy", f"{result.strategy} {json.dumps(_shown_settings(result))}"),
        ("market", f"{candles.symbol} {candles.timeframe} ({candles.exchange})"
                   + ("  SYNTHETIC DATA" if candles.synthetic else "")),
        ("range", f"{_iso(candles.ts[0])} → {_iso(candles.ts[-1])}  ({m['bars']} bars)"),
        ("balance", f"{float(m['start_balance']):,.2f} → {float(m['final_equity']):,.2f}"),
        ("total return", pct(m["total_return"])),
        ("annualised return", pct(m["annualised_return"])),
        ("max drawdown", pct(m["max_drawdown"])),
        ("sharpe", f"{m['sharpe']:.2f}"),
        ("trades", str(m["trades"])),
        ("win rate", pct(m["win_rate"])),
        ("profit factor", "–" if m["profit_factor"] is None else f"{m['profit_factor']:.2f}"),
        ("fees paid", f"{float(m['fees_paid']):,.2f}"),
        ("exposure time", pct(m["exposure_time"])),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _shown_settings(result) -> dict:
    """The strategy's own parameters, plus sizing/leverage/stops when they differ from the defaults."""
    from trading.strategies.registry import strategy_get

    schema = strategy_get(result.strategy).params
    shown = {}
    for name, value in result.settings.items():
        param = schema.params.get(name)
        if param is None or name in ("symbol", "timeframe"):
            continue
        if param.group == "strategy" or (name in ("size_pct", "leverage", "stop_loss_pct", "take_profit_pct")
                                         and value != param.default):
            shown[name] = value
    return shown


def _iso(ms) -> str:
    from marketdata.timeframes import iso_ms

    return iso_ms(int(ms))


def run(args: argparse.Namespace) -> int:
    from ldp.django_setup import setup_django

    setup_django()
    from core.errors import ApplicationError
    from trading.simulation.offline import offline_simulation

    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=100, desc="simulating", unit="%", file=sys.stderr, leave=False)

    def progress(percent: int) -> None:
        if bar is not None:
            bar.update(percent - bar.n)

    try:
        result = offline_simulation(
            strategy=args.strategy, params=dict(args.param), csv_path=args.csv, symbol=args.symbol,
            timeframe=args.timeframe, start=args.start, end=args.end, exchange=args.exchange,
            balance=args.balance, fee_rate=args.fee, slippage_bps=args.slippage_bps, leverage=args.leverage,
            progress=progress,
        )
        if args.chart:
            from trading.simulation.chart import render_chart

            with open(args.chart, "wb") as handle:
                handle.write(render_chart(result))
        progress(100)
    except ApplicationError as exc:
        if bar is not None:
            bar.close()
        where = f" ({exc.field})" if exc.field else ""
        print(f"error{where}: {exc.message}", file=sys.stderr)
        return 2
    if bar is not None:
        bar.close()
    if args.trades_out:
        result.write_trades_csv(args.trades_out)
    print(_table(result))
    if args.trades_out:
        print(f"trades written to {args.trades_out}")
    if args.chart:
        print(f"chart written to {args.chart}")
    print(json.dumps(result.metrics))
    return 0
