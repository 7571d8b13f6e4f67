"""Order latency: two concurrent orders through the live gateway to the exchange emulator (burst vs ccxt limiter).

Measured where the exchange sees it: the emulator records each request's arrival, the kernel's receive
stamp of its first bytes (see emulators.exchange.server). For each round two market orders are sent with
asyncio.gather through one pooled client; the figure is the gap between their arrivals. Also reported:
the round trip of the pair (client side). The emulator runs in a separate process on 127.0.0.1:<free
port>; no database is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from decimal import Decimal


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=50, help="pairs of orders per limiter (default 50)")


async def _measure(server, rounds: int, limiter: str) -> dict[str, float]:  # noqa: ANN001
    from exchanges.credentials import Credentials
    from trading.gateways.base import OrderRequest
    from trading.gateways.pool import LiveGatewayPool

    control = server.control
    key = control.create_key(balances={"USDT": "100000000"})
    gaps, trips = [], []
    async with LiveGatewayPool(api_base=server.base_url) as pool:
        gateway = await pool.gateway_for_credentials(Credentials("binanceusdm", key["api_key"], key["secret"]),
                                                     rate_limiter=limiter)
        for n in range(rounds):
            requests = [OrderRequest(client_order_id=f"b{limiter[0]}{n}x{i}", symbol="BTC/USDT",
                                     side="buy" if i == 0 else "sell", type="market", amount=Decimal("0.002"))
                        for i in range(2)]
            began = time.perf_counter_ns()
            await asyncio.gather(*(gateway.create_order(r) for r in requests))
            trips.append((time.perf_counter_ns() - began) / 1e6)
            rows = control.requests(path="/fapi/v1/order", api_key=key["api_key"])[-2:]
            arrivals = sorted(r["perf_ns"] for r in rows)
            gaps.append((arrivals[1] - arrivals[0]) / 1e6)
    return {"gap_median_ms": statistics.median(gaps), "gap_p95_ms": sorted(gaps)[int(len(gaps) * 0.95) - 1],
            "pair_round_trip_median_ms": statistics.median(trips)}


def run(args: argparse.Namespace) -> int:
    from ldp.django_setup import setup_django

    setup_django()
    from emulators.exchange import EmulatorProcess

    results: dict[str, dict[str, float]] = {}
    with EmulatorProcess(seed=1) as server:  # its own process: the emulator's work does not hold our GIL
        for limiter, rounds in (("burst", args.rounds), ("ccxt", max(3, args.rounds // 10))):
            results[limiter] = asyncio.run(_measure(server, rounds, limiter))
    print(f"{'limiter':<8} {'gap median ms':>14} {'gap p95 ms':>11} {'pair round trip ms':>19}")
    for limiter, r in results.items():
        print(f"{limiter:<8} {r['gap_median_ms']:>14.3f} {r['gap_p95_ms']:>11.3f} "
              f"{r['pair_round_trip_median_ms']:>19.2f}")
    print(json.dumps({"benchmark": "orders", "rounds": args.rounds, **{
        f"{limiter}_{name}": round(value, 4) for limiter, r in results.items() for name, value in r.items()}}))
    return 0
