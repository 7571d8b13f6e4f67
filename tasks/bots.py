"""Bot runtime tasks: START/STOP second phases, the per-timeframe tick fan-out, batch ticks, sweeps.

No task per bot and no long-running task: a beat entry per timeframe fans the running bots out in
batches; each batch task ticks its bots for one candle and ends.
"""

from __future__ import annotations

import logging

from celery.signals import worker_init

from core.errors import TemporaryError
from tasks.app import app

logger = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": (TemporaryError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
}


@worker_init.connect
def _preload_tick_path(**_: object) -> None:
    """Import the tick path in the worker's parent process: the prefork children then share those
    pages with it instead of each importing its own copy."""
    from trading.runtime import engine, execution  # noqa: F401
    from trading.strategies.registry import strategy_names

    strategy_names()


@app.task(name="tasks.bots.bot_start_finish", acks_late=True, **RETRY)
def bot_start_finish(subscribed_bot_id: int) -> str | None:
    from bots.runtime.services import bot_start_finish as finish

    row = finish(subscribed_bot_id=subscribed_bot_id)
    return row.state if row else None


@app.task(name="tasks.bots.bot_stop_finish", acks_late=True, **RETRY)
def bot_stop_finish(subscribed_bot_id: int) -> str | None:
    from bots.runtime.services import bot_stop_finish as finish

    row = finish(subscribed_bot_id=subscribed_bot_id)
    return row.state if row else None


@app.task(name="tasks.bots.tick_fanout", bind=True, ignore_result=True)
def tick_fanout(self, timeframe: str, candle_ms: int | None = None) -> int:  # noqa: ANN001
    """Beat entry: send batch ticks for every running bot on `timeframe` (the candle that just closed).

    The batches go to the queue this task came from, so a runtime queue keeps its own workers.
    """
    from trading.runtime.scheduling import tick_fanout as fanout

    queue = (self.request.delivery_info or {}).get("routing_key") or None
    return fanout(timeframe=timeframe, candle_ms=candle_ms, queue=queue)


@app.task(name="tasks.bots.tick_batch", acks_late=True, ignore_result=True, **RETRY)
def tick_batch(timeframe: str, candle_ms: int, bot_ids: list[int]) -> dict:
    """Tick up to a batch of bots for one candle. Idempotent per (bot, candle): safe to redeliver."""
    from trading.runtime.engine import tick_batch as tick
    from trading.runtime.scheduling import tick_stats_record

    report = tick(timeframe=timeframe, candle_ms=candle_ms, bot_ids=bot_ids)
    tick_stats_record(report)
    return report.as_dict()


@app.task(name="tasks.bots.runtime_sweep", ignore_result=True)
def runtime_sweep() -> dict[str, int]:
    """Every minute: resend lost START/STOP finish tasks; stop bots whose subscription ended."""
    from bots.runtime.services import runtime_stuck_resend, runtime_subscriptions_enforce

    return {"resent": runtime_stuck_resend(), "stopped": runtime_subscriptions_enforce()}
