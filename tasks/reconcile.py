"""Money-safety reconciliation: on every worker start (worker_ready) and every minute (beat).

Idempotent by design (it only asks the exchange and writes what it says), so a run that overlaps
another or is redelivered after a crash does no harm.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict
from typing import Any

from celery.signals import worker_ready

from tasks.app import app

logger = logging.getLogger(__name__)


@app.task(name="tasks.reconcile.reconcile_orders", ignore_result=False, acks_late=True,
          soft_time_limit=240, time_limit=300)
def reconcile_orders(grace_seconds: float | None = None) -> dict[str, Any]:
    from trading.orders.reconcile import SUBMITTING_GRACE_SECONDS, reconcile_all

    report = reconcile_all(grace_seconds=SUBMITTING_GRACE_SECONDS if grace_seconds is None else grace_seconds)
    if report.flagged or report.unknown_at_exchange or report.position_mismatches:
        logger.warning("reconciliation needs attention: %s", report)
    return asdict(report)


@worker_ready.connect
def reconcile_on_worker_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that (re)starts first settles whatever a crash may have left half-done.

    Sent to a queue this worker consumes, so it runs here even when queues are per deployment/test run.
    """
    queues: list[str] = []
    with contextlib.suppress(AttributeError):  # no consumer information: use the default queue
        queues = list(sender.app.amqp.queues.consume_from)
    options = {"queue": queues[0]} if queues else {}
    reconcile_orders.apply_async(**options)
