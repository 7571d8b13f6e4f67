"""Beat entries of the bot runtime (imported by tasks/app.py before Django is set up: no models here)."""

from __future__ import annotations

from celery.schedules import crontab

from marketdata.timeframes import TIMEFRAME_MS


def _crontab_for(timeframe: str) -> crontab:
    minutes = TIMEFRAME_MS[timeframe] // 60_000
    if minutes < 60:
        return crontab(minute=f"*/{minutes}" if minutes > 1 else "*")
    hours = minutes // 60
    if hours < 24:
        return crontab(minute=0, hour=f"*/{hours}" if hours > 1 else "*")
    return crontab(minute=0, hour=0)


def runtime_beat_schedule() -> dict[str, dict]:
    """A tick fan-out per timeframe at each bar close, and the once-a-minute runtime sweep."""
    entries = {
        f"bots-tick-{timeframe}": {
            "task": "tasks.bots.tick_fanout",
            "schedule": _crontab_for(timeframe),
            "args": (timeframe,),
            # A fan-out that could not start within its bar is useless; the next bar's takes over.
            "options": {"expires": TIMEFRAME_MS[timeframe] / 1000},
        }
        for timeframe in TIMEFRAME_MS
    }
    entries["bots-runtime-sweep"] = {"task": "tasks.bots.runtime_sweep", "schedule": crontab(minute="*")}
    return entries
