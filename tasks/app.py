"""The Celery app. Configured from Django settings (CELERY_*); task modules are thin wrappers."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

from trading.runtime.beat import runtime_beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ldp")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Task modules live in this package, one per domain.
TASK_MODULES = ["tasks.system", "tasks.simulations", "tasks.notifications", "tasks.reconcile", "tasks.ttadak"]
TASK_MODULES += ["tasks.bots"]  # bot runtime: START/STOP phases, tick fan-out and batches, sweeps
app.conf.include = TASK_MODULES

app.conf.beat_schedule = {
    "worker-heartbeat": {"task": "tasks.system.worker_heartbeat", "schedule": crontab(minute="*/5")},
    # Crash safety of the notifications outbox: due rows and interrupted sends, in bounded batches.
    "notifications-outbox-sweep": {"task": "tasks.notifications.outbox_sweep", "schedule": 30.0},
    # Money safety: non-final live orders and open positions brought in line with the exchange.
    "reconcile-orders": {"task": "tasks.reconcile.reconcile_orders", "schedule": 60.0},
    # Ttadak games nobody watches (a chat process restarted): deadlines and stop losses still hold.
    "ttadak-games-sweep": {"task": "tasks.ttadak.games_sweep", "schedule": 15.0},
}
# Bot runtime: a tick fan-out per timeframe at each candle close, and the once-a-minute runtime sweep.
app.conf.beat_schedule.update(runtime_beat_schedule())
