"""A fork server for the kill -9 test: imports Django + ccxt once, then forks order-placing workers.

Run: python -m tests.trading.orders.kill_harness --run-id N --setting-id M --intents K
(DATABASE_URL and EXCHANGE_API_BASE in the environment). Line protocol on stdin/stdout:

    place [reconcile_first]  -> "<pid>"   fork a worker that (optionally reconciles, then) places every intent
    reconcile                -> "<pid>"   fork a worker that runs reconcile_all(grace_seconds=0)
    wait <pid>               -> "<exit>"  reap a worker (negative = killed by that signal)
    quit

Workers are real processes running the real service + live gateway + ccxt; the test kills them with
SIGKILL at random moments. Forking keeps a restart at milliseconds instead of seconds of imports.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from decimal import Decimal


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    # Import everything a worker needs before forking.
    import ccxt.async_support  # noqa: F401

    import trading.gateways.pool  # noqa: F401
    import trading.orders.placement  # noqa: F401
    import trading.orders.reconcile  # noqa: F401


def _intent(i: int):  # noqa: ANN202
    from trading.orders.placement import OrderIntent

    return OrderIntent(symbol="BTC/USDT", side="buy" if i % 2 == 0 else "sell", amount=Decimal("0.002"),
                       purpose="entry" if i % 2 == 0 else "exit")


async def _place_all(run_id: int, setting_id: int, intents: int) -> None:
    from asgiref.sync import sync_to_async

    from bots.models import Order, OrderStatus
    from exchanges.models import ExchangeSetting
    from trading.gateways.pool import LiveGatewayPool
    from trading.orders.placement import SubmitPolicy, order_place

    policy = SubmitPolicy(max_attempts=3, deadline_seconds=10, backoff_seconds=(0.05, 0.1), fetch_fee=False)
    # Like a bot runtime, skip intents already settled; "submitting" ones are placed again (resumed).
    settled = await sync_to_async(lambda: set(
        Order.objects.filter(run_id=run_id).exclude(status=OrderStatus.SUBMITTING)
        .values_list("idempotency_key", flat=True)))()
    async with LiveGatewayPool(timeout_ms=1500) as pool:
        setting = await sync_to_async(ExchangeSetting.objects.get)(pk=setting_id)
        gateway = await pool.gateway(setting, rate_limiter="burst")
        for i in range(intents):
            if f"intent-{i}" in settled:
                continue
            await order_place(run_id=run_id, intent=_intent(i), idempotency_key=f"intent-{i}", gateway=gateway,
                              policy=policy)


def _worker(command: str, args: argparse.Namespace) -> int:
    from trading.orders.reconcile import reconcile_all

    if command == "reconcile" or command == "place reconcile_first":
        reconcile_all(grace_seconds=0)
    if command.startswith("place"):
        asyncio.run(_place_all(args.run_id, args.setting_id, args.intents))
    return 0


def _fork(command: str, args: argparse.Namespace) -> int:
    from django.db import connections

    connections.close_all()  # never share a database connection with a child
    pid = os.fork()
    if pid:
        return pid
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    if args.log:
        log = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 2)
    code = 1
    try:
        code = _worker(command, args)
    except BaseException as error:  # noqa: BLE001 - report and exit, never return into the server loop
        print(f"worker {os.getpid()} failed: {error!r}", file=sys.stderr, flush=True)
    finally:
        os._exit(code)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--setting-id", type=int, required=True)
    parser.add_argument("--intents", type=int, required=True)
    parser.add_argument("--log", default="")
    args = parser.parse_args()
    _setup()
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command.startswith("wait "):
            _, status = os.waitpid(int(command.split()[1]), 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            print(code, flush=True)
        else:
            print(_fork(command, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
