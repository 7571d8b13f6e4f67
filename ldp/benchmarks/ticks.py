"""Bot runtime at scale: N running dry-run bots ticked by real Celery workers on PostgreSQL + Redis.

Creates its own database (default `ldp_bench`, dropped at the end) with N running dry-run bots of four
strategies (sma_cross, rsi_reversion, bollinger_scalp, grid; varied settings) on 20 symbols, 1-minute
candles. It starts real worker processes (`celery worker`, prefork, --concurrency 2 on this 2-core
machine) and replays candles: for each candle it sends the same fan-out task beat sends at a candle
close, and measures until the last bot's runtime row records that candle (polled every 20 ms). The
first candle warms every bot's strategy up and is reported separately; the figures are over the next
--candles candles.

- lag: from sending the fan-out (= the candle close) until the last bot has ticked;
- ticks/s: bots ticked per second of lag;
- queries/tick: database queries of all tick batches / bots ticked (counted inside the workers);
- KB/bot: memory of all worker processes (parent + pool children; PSS, i.e. shared pages counted once) / bots.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = [
    "BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT", "AVAX/USDT", "DOT/USDT",
    "LINK/USDT", "LTC/USDT", "TRX/USDT", "ATOM/USDT", "NEAR/USDT", "APT/USDT", "ARB/USDT", "OP/USDT", "FIL/USDT",
    "ETC/USDT", "BCH/USDT",
]
EXCHANGE = "binanceusdm"
STATS_KEY = "ldp:bench:ticks"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bots", type=int, default=10_000, help="running dry-run bots (default 10,000)")
    parser.add_argument("--candles", type=int, default=10, help="measured candles after the warm-up one (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="worker pool processes (default 2, one per core)")
    parser.add_argument("--batch-size", type=int, default=500, help="bots per tick task (default 500)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ldp_bench",
                        help="PostgreSQL URL; the database is created and dropped by the benchmark")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15", help="Redis (broker and candle cache)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--seed", type=int, default=20240101)


# --- database --------------------------------------------------------------------------------------


def _admin_connection(url: str):  # noqa: ANN202
    import psycopg2

    parts = urlparse(url)
    admin = urlunparse(parts._replace(path="/postgres"))
    connection = psycopg2.connect(admin)
    connection.autocommit = True
    return connection, parts.path.lstrip("/")


def _database_recreate(url: str) -> None:
    connection, name = _admin_connection(url)
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing the database name {name!r}")
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def _database_drop(url: str) -> None:
    connection, name = _admin_connection(url)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


# --- data ------------------------------------------------------------------------------------------


def _catalog() -> list[tuple[str, dict]]:
    """(strategy, settings) variants: users tweak settings, so bots do not all share one strategy instance."""
    variants: list[tuple[str, dict]] = []
    for fast, slow in ((5, 20), (8, 21), (10, 30), (12, 26), (9, 40)):
        variants.append(("sma_cross", {"fast": fast, "slow": slow, "allow_short": fast % 2 == 1}))
    for period, low, high in ((14, 30, 70), (7, 25, 75), (10, 35, 65)):
        variants.append(("rsi_reversion", {"period": period, "oversold": low, "overbought": high}))
    for period, width in ((20, 2.0), (14, 1.5), (30, 2.5)):
        variants.append(("bollinger_scalp", {"period": period, "std_mult": width}))
    for levels, spacing in ((10, 0.2), (6, 0.4)):
        variants.append(("grid", {"levels": levels, "spacing_pct": spacing}))
    return variants


def _populate(bots: int, seed: int, candles_needed: int) -> tuple[list[int], int]:
    """Users, catalog, N running dry-run bots with runs and runtime rows, and the candles. Returns the candle
    open times to replay (warm-up first) and the number of users."""
    from dataclasses import replace

    from django.utils import timezone

    from bots.models import Bot, BotKind, BotRun, BotRuntime, BotState, RunStatus, RunType, SubscribedBot
    from marketdata.generator import generate_candles
    from marketdata.services import candles_store
    from marketdata.timeframes import MINUTE_MS, from_ms, to_ms
    from trading.runtime.engine import strategy_for
    from trading.runtime.step import warmup_bars
    from users.models import User

    rng = random.Random(seed)
    now = timezone.now()
    end_ms = to_ms(now) - to_ms(now) % MINUTE_MS - 60 * MINUTE_MS
    start_ms = end_ms - candles_needed * MINUTE_MS
    for symbol in SYMBOLS:
        candles = generate_candles(symbol, start_ms=start_ms, count=candles_needed, seed=seed)
        candles_store(candles=replace(candles, exchange=EXCHANGE, synthetic=False))

    variants = _catalog()
    catalog = [
        Bot.objects.create(name=f"Bench {n} {name}", slug=f"bench-{n}", kind=BotKind.AUTOMATED, strategy=name,
                           default_setting={"symbol": "BTC/USDT", "timeframe": "1m", **params})
        for n, (name, params) in enumerate(variants)
    ]
    users = User.objects.bulk_create(
        [User(username=f"bench{n}", password="!", email="") for n in range(max(1, bots // 10))], batch_size=2000
    )
    subscribed, settings_of = [], []
    for n in range(bots):
        bot = catalog[n % len(catalog)]
        overrides = {"symbol": SYMBOLS[rng.randrange(len(SYMBOLS))], "size_pct": rng.choice([25.0, 50.0, 100.0])}
        settings_of.append({**bot.default_setting, **overrides})
        subscribed.append(SubscribedBot(
            user=users[n % len(users)], bot=bot, run_type=RunType.DRY_RUN, user_bot_setting=overrides,
            subscription_start=now, state=BotState.RUNNING, state_changed_at=now,
        ))
    subscribed = SubscribedBot.objects.bulk_create(subscribed, batch_size=2000)
    money = {"fee_rate": "0.001", "slippage_bps": "0", "capital": "10000", "starting_equity": "10000"}
    runs = BotRun.objects.bulk_create(
        [BotRun(subscribed_bot=row, run_type=RunType.DRY_RUN, status=RunStatus.RUNNING, started_at=now,
                parameters={"exchange": EXCHANGE, "symbol": settings["symbol"], "timeframe": "1m", **money},
                setting_snapshot=settings)
         for row, settings in zip(subscribed, settings_of, strict=True)], batch_size=2000)
    capital = Decimal("10000")
    BotRuntime.objects.bulk_create(
        [BotRuntime(subscribed_bot=row, run=run, exchange=EXCHANGE, symbol=settings["symbol"], timeframe="1m",
                    starting_equity=capital, balance=capital, equity=capital, peak_equity=capital,
                    day=from_ms(start_ms).date(), day_start_equity=capital)
         for row, run, settings in zip(subscribed, runs, settings_of, strict=True)], batch_size=2000)
    warmup = max(warmup_bars(strategy_for(name, {"symbol": "BTC/USDT", "timeframe": "1m", **params}))
                 for name, params in variants)
    times = [start_ms + i * MINUTE_MS for i in range(warmup - 1, candles_needed - 1)]
    return times, len(users)


# --- workers ---------------------------------------------------------------------------------------


def _start_workers(env: dict[str, str], concurrency: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tasks", "worker", "--pool", "prefork", "--concurrency",
         str(concurrency), "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"bench-ticks-{os.getpid()}@%h", "--prefetch-multiplier", "1"],
        cwd=REPO_ROOT, env=env,
    )


def _memory_kb(process: subprocess.Popen) -> tuple[int, int, int]:
    """(PSS, RSS, processes) of the worker and its pool children. PSS splits pages the children share
    with the parent (fork), so its sum is the memory they really use; summing RSS counts shared pages
    once per process."""
    import psutil

    parent = psutil.Process(process.pid)
    members = [parent, *parent.children(recursive=True)]
    infos = [member.memory_full_info() for member in members]
    return sum(info.pss for info in infos) // 1024, sum(info.rss for info in infos) // 1024, len(members)


def _wait_ready(app, timeout: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = app.send_task("tasks.system.worker_heartbeat", args=("bench",))
        try:
            result.get(timeout=5)
            return
        except Exception:  # noqa: BLE001 - not up yet
            continue
    raise SystemExit("the workers did not start")


def _tick_candle(app, candle_ms: int, bots: int, poll: float = 0.02, timeout: float = 600.0) -> float:  # noqa: ANN001
    """Send the fan-out for one candle; seconds until every bot's row records it."""
    from django.db import connection

    from marketdata.timeframes import from_ms

    candle_at = from_ms(candle_ms)
    began = time.perf_counter()
    app.send_task("tasks.bots.tick_fanout", args=("1m", candle_ms))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bot_runtime WHERE last_candle_at >= %s", [candle_at])
            done = cursor.fetchone()[0]
        if done >= bots:
            return time.perf_counter() - began
        time.sleep(poll)
    raise SystemExit(f"candle {candle_ms}: only {done} of {bots} bots ticked after {timeout:.0f} s")


def run(args: argparse.Namespace) -> int:
    if args.bots < 1 or args.candles < 1:
        print("error: --bots and --candles must be positive", file=sys.stderr)
        return 2
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["REDIS_URL"] = args.redis_url
    os.environ["RUNTIME_STATS_KEY"] = STATS_KEY
    os.environ["RUNTIME_TICK_BATCH_SIZE"] = str(args.batch_size)
    os.environ["LOG_LEVEL"] = "WARNING"
    _database_recreate(args.database_url)
    try:
        from django.core.management import call_command

        from ldp.django_setup import setup_django

        setup_django()
        call_command("migrate", interactive=False, verbosity=0)
        return _run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _database_drop(args.database_url)


def _run(args: argparse.Namespace) -> int:
    from django.db import connection

    from tasks.app import app
    from trading.runtime.candles import redis_client, windows_forget

    began = time.perf_counter()
    times, users = _populate(args.bots, args.seed, candles_needed=160 + args.candles)
    setup_s = time.perf_counter() - began
    windows_forget()
    redis = redis_client()
    redis.delete(STATS_KEY)
    app.control.purge()  # no stale tasks from an aborted run

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    workers = _start_workers(env, args.workers)
    try:
        _wait_ready(app)
        idle_kb, _, processes = _memory_kb(workers)
        warmup_s = _tick_candle(app, times[0], args.bots)
        redis.delete(STATS_KEY)
        lags = [_tick_candle(app, candle_ms, args.bots) for candle_ms in times[1:args.candles + 1]]
        stats = {key.decode(): float(value) for key, value in redis.hgetall(STATS_KEY).items()}
        redis.delete(STATS_KEY)
        total_kb, total_rss_kb, processes = _memory_kb(workers)
    finally:
        workers.terminate()
        try:
            workers.wait(timeout=30)
        except subprocess.TimeoutExpired:
            workers.kill()
        windows_forget()
        app.control.purge()
    with connection.cursor() as cursor:
        cursor.execute('SELECT count(*) FROM "order"')
        orders = cursor.fetchone()[0]
    ticked = stats.get("ticked", 0)
    result = {
        "bots": args.bots,
        "lag_median_s": round(statistics.median(lags), 3),
        "lag_max_s": round(max(lags), 3),
        "ticks_per_s": round(args.bots / statistics.median(lags)),
        "queries_per_tick": round(stats.get("queries", 0) / ticked, 3) if ticked else None,
        "kb_per_bot": round(total_kb / args.bots, 1),
    }
    rows = [
        ("bots", f"{args.bots:,} running dry-run bots, {users:,} users, 4 strategies / 13 settings variants, "
                 f"{len(SYMBOLS)} symbols, 1m"),
        ("workers", f"celery prefork, {args.workers} pool processes (+1 parent), batches of {args.batch_size}"),
        ("setup", f"{setup_s:.1f} s (database, bots, candles; not measured below)"),
        ("warm-up candle", f"{warmup_s:.2f} s (every bot's strategy state built from 128 bars; not included)"),
        ("lag per candle", " ".join(f"{lag:.2f}" for lag in lags) + " s"),
        ("lag median / max", f"{result['lag_median_s']:.2f} s / {result['lag_max_s']:.2f} s "
                             f"(candle close -> last bot ticked, {len(lags)} candles)"),
        ("ticks / s", f"{result['ticks_per_s']:,}"),
        ("batches", f"{int(stats.get('batches', 0))}, busy {stats.get('seconds', 0):.1f} s in workers"),
        ("orders", f"{int(stats.get('orders', 0)):,} paper orders in the measured candles ({orders:,} in all)"),
        ("queries / tick", f"{result['queries_per_tick']} (all tick-batch queries / bots ticked)"),
        ("worker memory", f"{total_kb / 1024:.0f} MB PSS in {processes} processes (idle {idle_kb / 1024:.0f} MB; "
                          f"RSS summed {total_rss_kb / 1024:.0f} MB) = {result['kb_per_bot']} KB per bot"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(json.dumps(result))
    return 0
