"""Simulation speed: SMA(10)/SMA(30) crossover over N generated one-minute candles.

Measures the simulation itself — indicators, signals, the engine and the metrics — on candles already in
memory; generating them is timed separately. Peak memory is the process's peak resident set size
(resource.getrusage ru_maxrss), which includes Python, numpy and pandas themselves and the candles.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--candles", type=int, default=1_000_000, help="one-minute candles (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported (default 3)")
    parser.add_argument("--seed", type=int, default=20240101)


def run(args: argparse.Namespace) -> int:
    from ldp.django_setup import setup_django

    setup_django()
    from marketdata.generator import generate_candles
    from trading.simulation.runner import simulate
    from trading.strategies.registry import strategy_get

    if args.candles < 100:
        print("error: --candles must be at least 100", file=sys.stderr)
        return 2
    began = time.perf_counter()
    candles = generate_candles("BTC/USDT", start_ms=1_704_067_200_000, count=args.candles, seed=args.seed)
    generation = time.perf_counter() - began
    strategy = strategy_get("sma_cross")({"fast": 10, "slow": 30, "timeframe": "1m"})
    best, result = float("inf"), None
    for _ in range(max(1, args.repeat)):
        began = time.perf_counter()
        result = simulate(candles, strategy, balance=10_000, fee_rate=0.001)
        best = min(best, time.perf_counter() - began)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    rows = [
        ("candles", f"{args.candles:,} x 1m (synthetic, seed {args.seed})"),
        ("strategy", "sma_cross fast=10 slow=30, long only, all equity, fee 0.1%"),
        ("generation", f"{generation:.3f} s (not included below)"),
        ("simulation", f"{best:.3f} s (best of {max(1, args.repeat)})"),
        ("candles / s", f"{args.candles / best:,.0f}"),
        ("trades", f"{result.metrics['trades']:,}"),
        ("peak memory", f"{peak_mb:.0f} MB (peak RSS of the process)"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(json.dumps({"candles": args.candles, "seconds": round(best, 4),
                      "candles_per_s": round(args.candles / best), "peak_mb": round(peak_mb, 1)}))
    return 0
