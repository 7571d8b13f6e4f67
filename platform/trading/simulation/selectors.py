"""Reads of simulation runs; each takes the acting user and is the authorization check."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from bots.models import BotRun, RunType, Trade
from core.errors import NotFound


def simulation_list_for_user(*, user: Any, subscribed_bot_id: int | None = None) -> QuerySet[BotRun]:
    runs = BotRun.objects.filter(subscribed_bot__user=user, run_type=RunType.SIMULATION)
    if subscribed_bot_id is not None:
        runs = runs.filter(subscribed_bot_id=subscribed_bot_id)
    return runs.select_related("subscribed_bot__bot").order_by("-created_at")


def simulation_get_for_user(*, user: Any, run_id: Any) -> BotRun:
    """The user's simulation run; NotFound for anyone else's (or a run id that does not exist)."""
    try:
        run_id = int(run_id)
    except (TypeError, ValueError):
        raise NotFound("No such simulation among yours.") from None
    run = simulation_list_for_user(user=user).filter(pk=run_id).first()
    if run is None:
        raise NotFound("No such simulation among yours.")
    return run


def simulation_trades(*, run: BotRun) -> QuerySet[Trade]:
    return run.trades.order_by("opened_at", "pk")


def simulation_result(*, run: BotRun) -> dict[str, Any]:
    """Status, progress, inputs, metrics and equity curve of a run, JSON-safe."""
    return {
        "id": run.pk,
        "subscribed_bot_id": run.subscribed_bot_id,
        "status": run.status,
        "progress": run.progress,
        "parameters": run.parameters,
        "settings": run.setting_snapshot,
        "metrics": run.metrics,
        "equity_curve": run.equity_curve,
        "has_chart": bool(run.chart),
        "synthetic_data": bool((run.parameters or {}).get("synthetic")),
        "error": run.error,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }
