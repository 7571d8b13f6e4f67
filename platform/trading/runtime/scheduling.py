"""Fan-out of ticks: one beat entry per timeframe sends batch tasks for the running bots.

Batches are grouped by market (exchange, symbol) so a batch shares few candle windows, and carry
explicit bot ids: a batch task reloads those rows and re-checks their state, so a stale id is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from bots.models import BotRuntime, BotState
from marketdata.timeframes import from_ms, timeframe_ms, to_ms

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500


def batch_size() -> int:
    return int(getattr(settings, "RUNTIME_TICK_BATCH_SIZE", DEFAULT_BATCH_SIZE))


def last_closed_candle_ms(timeframe: str, now: datetime) -> int:
    """Open time of the newest bar of `timeframe` that has closed at `now`."""
    step = timeframe_ms(timeframe)
    now_ms = to_ms(now)
    return now_ms - now_ms % step - step


def due_bot_ids(*, timeframe: str, candle_ms: int) -> list[int]:
    """Running bots on `timeframe` that have not ticked this candle yet, grouped by market."""
    candle_at = from_ms(candle_ms)
    return list(
        BotRuntime.objects.filter(timeframe=timeframe, subscribed_bot__state=BotState.RUNNING)
        .filter(Q(last_candle_at__isnull=True) | Q(last_candle_at__lt=candle_at))
        .order_by("exchange", "symbol", "subscribed_bot_id")
        .values_list("subscribed_bot_id", flat=True)
    )


def chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def tick_fanout(*, timeframe: str, candle_ms: int | None = None, now: datetime | None = None,
                queue: str | None = None) -> int:
    """Send one `tick_batch` task per batch of due bots; returns the number of batches sent.

    `candle_ms` defaults to the bar that closed last (what the beat wants); a replay passes its own.
    """
    from tasks.app import app

    if candle_ms is None:
        candle_ms = last_closed_candle_ms(timeframe, now or timezone.now())
    ids = due_bot_ids(timeframe=timeframe, candle_ms=candle_ms)
    batches = 0
    routing = {"queue": queue} if queue else {}
    for chunk in chunks(ids, batch_size()):
        app.send_task("tasks.bots.tick_batch", args=(timeframe, candle_ms, chunk), **routing)
        batches += 1
    if ids:
        logger.info("tick fan-out %s @%s: %d bots in %d batches", timeframe, candle_ms, len(ids), batches)
    return batches


def tick_stats_record(report: Any) -> None:
    """Add a batch's counts to the Redis hash RUNTIME_STATS_KEY, when set (benchmark, operations)."""
    key = getattr(settings, "RUNTIME_STATS_KEY", "")
    if not key:
        return
    from trading.runtime.candles import redis_client

    pipe = redis_client().pipeline(transaction=False)
    pipe.hincrby(key, "batches", 1)
    for name in ("ticked", "skipped", "traded", "orders", "stopped", "errors", "queries"):
        pipe.hincrby(key, name, int(getattr(report, name)))
    pipe.hincrbyfloat(key, "seconds", float(report.seconds))
    pipe.execute()
