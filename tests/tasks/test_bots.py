"""The tick path through the real broker and a real worker process: fan-out, batches, idempotent redelivery."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from bots.models import BotRuntime, Order
from marketdata.timeframes import from_ms
from tasks.bots import tick_batch, tick_fanout
from tests.factories import UserFactory
from tests.trading.runtime.conftest import redis_candles, running_bot, store_candles  # noqa: F401 (fixture)
from trading.runtime.candles import redis_client

BOTS = 50
FIRST = 63


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The worker (started after this) splits the 50 bots into three batches and adds up its counts."""
    key = f"ldp:test:tick-stats:{os.getpid()}"
    monkeypatch.setenv("RUNTIME_TICK_BATCH_SIZE", "20")
    monkeypatch.setenv("RUNTIME_STATS_KEY", key)
    monkeypatch.setenv("EXCHANGE_API_BASE", "http://127.0.0.1:9")  # never the real exchange
    redis_client().delete(key)
    yield key
    redis_client().delete(key)


def _stats(key: str) -> dict[str, float]:
    return {name.decode(): float(value) for name, value in redis_client().hgetall(key).items()}


def _wait_until_ticked(candle_ms: int, count: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = BotRuntime.objects.filter(last_candle_at=from_ms(candle_ms)).count()
        if done == count:
            return
        time.sleep(0.1)
    raise AssertionError(f"only {done} of {count} bots ticked candle {candle_ms}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("redis_candles")
def test_fifty_bots_tick_three_candles_in_a_worker_process_and_a_redelivered_batch_does_nothing(
    small_batches: str, celery_worker_process,  # noqa: ANN001
) -> None:
    candles = store_candles(count=FIRST + 4)
    user = UserFactory()
    bots = [
        running_bot({"symbol": "BTC/USDT", "timeframe": "1m", "fast": 2 + n % 5, "slow": 8 + n % 7,
                     "allow_short": True, "max_drawdown_pct": 0}, user=user)
        for n in range(BOTS)
    ]
    for index in (FIRST, FIRST + 1, FIRST + 2):
        tick_fanout.delay("1m", int(candles.ts[index]))
        _wait_until_ticked(int(candles.ts[index]), BOTS)

    orders = Order.objects.count()
    assert orders > 0, "some of the fifty bots trade in three candles"
    stats = _stats(small_batches)
    assert (stats["batches"], stats["ticked"]) == (9, 3 * BOTS)  # 3 candles x batches of 20, 20, 10
    # The same batch delivered again (a worker died before acking it): nothing new happens.
    tick_batch.delay("1m", int(candles.ts[FIRST + 2]), [bot.pk for bot in bots])
    deadline = time.monotonic() + 60
    while _stats(small_batches)["batches"] < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    stats = _stats(small_batches)
    assert (stats["batches"], stats["ticked"], stats["skipped"]) == (10, 3 * BOTS, BOTS)
    assert Order.objects.count() == orders
    assert celery_worker_process.poll() is None
