"""Command-line arguments shared by `ldp exchange-emulator` and `python -m emulators.exchange`."""

from __future__ import annotations

import argparse
import asyncio
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (default 8765)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the replayed price paths")
    parser.add_argument("--mode", choices=["realtime", "manual"], default="realtime",
                        help="realtime: prices follow the clock; manual: only POST /_emulator/advance moves them")
    parser.add_argument("--speed", type=float, default=1.0, help="realtime mode: market minutes per wall minute")
    parser.add_argument("--candles", default=None, help="JSON file of [[open_ms,o,h,l,c,v],…] to replay")
    parser.add_argument("--candles-symbol", default="BTCUSDT", help="symbol the --candles file is for")
    parser.add_argument("--ready-line", action="store_true", help="print one JSON line with base_url when ready")
    parser.add_argument("--sched-batch", action="store_true",
                        help="run under SCHED_BATCH (Linux): woken by a request, the emulator does not preempt the "
                             "process that sent it — as an exchange on another host cannot (used by benchmarks)")


def run(args: argparse.Namespace) -> int:
    from emulators.exchange.runner import serve_forever

    if args.sched_batch:
        # Every thread there is (imports start some, e.g. OpenBLAS's pool); threads started later inherit it.
        for thread_id in os.listdir("/proc/self/task"):
            os.sched_setscheduler(int(thread_id), os.SCHED_BATCH, os.sched_param(0))

    asyncio.run(serve_forever(host=args.host, port=args.port, seed=args.seed, mode=args.mode, speed=args.speed,
                              ready_line=args.ready_line, candles_file=args.candles,
                              candles_symbol=args.candles_symbol))
    return 0
