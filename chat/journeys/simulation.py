"""Simulation: pick a range, watch progress (the renderer re-runs the poll action and edits the message in
place), then the results and the equity chart. The run itself is the simulation service's (a task)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from chat import engine, formatting
from chat.context import Ctx
from chat.journeys.menu import menu_button
from chat.registry import action, form
from chat.screens import Field, Image, Reply, Screen
from core.errors import ValidationError

PRESET_DAYS = (7, 30, 90)
BAR = 20


def _get(ctx: Ctx, subscribed_bot_id: int) -> Any:
    from bots.selectors import subscribed_bot_get_for_user

    return subscribed_bot_get_for_user(user=ctx.user, subscribed_bot_id=subscribed_bot_id)


def range_screen(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    subscribed_bot = _get(ctx, subscribed_bot_id)
    pk = subscribed_bot.pk
    return Screen(
        title=f"Simulate {subscribed_bot.bot.name}",
        text="Run the bot over past prices with its current settings. Which period?",
        rows=[
            [ctx.button(f"Last {days} days", "sim", pk, days) for days in PRESET_DAYS],
            [ctx.button("Choose dates…", "simd", pk)],
            [ctx.button("« Bot", "b", pk), menu_button(ctx)],
        ],
    )


def _launch(ctx: Ctx, subscribed_bot_id: int, start: datetime, end: datetime) -> Screen:
    from trading.simulation.services import simulation_start

    run = simulation_start(user=ctx.user, subscribed_bot_id=subscribed_bot_id, start=start, end=end)
    return progress_screen(ctx, run.pk)


@action("sim", int, int, mutates=True)
def simulate_preset(ctx: Ctx, subscribed_bot_id: int, days: int) -> Screen:
    end = ctx.now.replace(second=0, microsecond=0)
    return _launch(ctx, subscribed_bot_id, end - timedelta(days=days), end)


@action("simd", int)
def simulate_dates_ask(ctx: Ctx, subscribed_bot_id: int) -> Reply:
    subscribed_bot = _get(ctx, subscribed_bot_id)
    return engine.ask(ctx, "simulation_range", {"subscribed_bot_id": subscribed_bot.pk})


def _parse_day(text: str, *, field: str, tz: str, end_of_day: bool) -> datetime:
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError(f"{text[:20]!r} is not a date like 2024-05-31.", field=field) from None
    moment = datetime.combine(day + timedelta(days=1) if end_of_day else day, time(), tzinfo=formatting.zone(tz))
    return moment


@form(
    "simulation_range",
    title="Simulation period",
    fields=(
        Field("start", "First day (YYYY-MM-DD)", hint="Dates are in your time zone."),
        Field("end", "Last day (YYYY-MM-DD)"),
    ),
    submit_label="Simulate",
)
def simulate_dates(ctx: Ctx, context: dict, values: dict) -> Screen:
    start = _parse_day(values["start"], field="start", tz=ctx.tz, end_of_day=False)
    end = _parse_day(values["end"], field="end", tz=ctx.tz, end_of_day=True)
    if end <= start:
        raise ValidationError("The last day must not be before the first day.", field="end")
    return _launch(ctx, int(context["subscribed_bot_id"]), start, end)


def progress_screen(ctx: Ctx, run_id: int, subscribed_bot_id: int | None = None) -> Screen:
    from core.errors import NotFound
    from trading.simulation.selectors import simulation_get_for_user

    run = simulation_get_for_user(user=ctx.user, run_id=run_id)
    if subscribed_bot_id is not None and run.subscribed_bot_id != subscribed_bot_id:
        raise NotFound("No such simulation among yours.")
    subscribed_bot = run.subscribed_bot
    if run.status in ("queued", "running"):
        done = max(0, min(100, int(run.progress or 0)))
        filled = done * BAR // 100
        return Screen(
            title=f"Simulating {subscribed_bot.bot.name}",
            text=f"{'█' * filled}{'░' * (BAR - filled)} {done} %\n"
            f"{'Waiting for a worker…' if run.status == 'queued' else 'Running…'}",
            poll=ctx.button("", "sip", subscribed_bot.pk, run.pk).payload,
        )
    return results_screen(ctx, subscribed_bot, run)


@action("sip", int, int)
def progress_action(ctx: Ctx, subscribed_bot_id: int, run_id: int) -> Screen:
    """Progress, then results, of a simulation run (also the "Results" button of notifications)."""
    return progress_screen(ctx, run_id, subscribed_bot_id)


# (key in the run's metrics, label, style). Ratios are stored as fractions (0.12 = 12 %).
METRIC_LABELS = (
    ("total_return", "Return", "ratio"),
    ("annualised_return", "Annualised", "ratio"),
    ("net_profit", "Profit after fees", "money"),
    ("max_drawdown", "Max drawdown", "ratio_unsigned"),
    ("trades", "Trades", "count"),
    ("win_rate", "Winning trades", "ratio_unsigned"),
    ("profit_factor", "Profit factor", "number"),
    ("sharpe", "Sharpe ratio", "number"),
    ("fees_paid", "Fees", "money_unsigned"),
    ("final_equity", "Final equity", "money_unsigned"),
)
_STYLES = {
    "ratio": lambda v, c: formatting.percent(v, ratio=True),
    "ratio_unsigned": lambda v, c: formatting.percent(v, ratio=True, signed=False),
    "money": lambda v, c: formatting.money(v, c, signed=True),
    "money_unsigned": lambda v, c: formatting.money(v, c),
    "count": lambda v, c: formatting.number(v, 0),
    "number": lambda v, c: formatting.number(v, 2),
}


def metric_lines(metrics: dict[str, Any], currency: str = "USDT") -> list[str]:
    """Known metrics in a fixed order, formatted for people; missing ones are left out."""
    return [
        f"{label}: {_STYLES[style](metrics[key], currency)}"
        for key, label, style in METRIC_LABELS
        if metrics.get(key) is not None
    ]


def run_chart(run: Any) -> Image | None:
    if not getattr(run, "chart", None):
        return None
    try:
        with run.chart.open("rb") as handle:
            return Image(png=handle.read(), name=f"simulation-{run.pk}.png", alt="equity curve")
    except (OSError, ValueError):
        return None


def results_screen(ctx: Ctx, subscribed_bot: Any, run: Any) -> Screen:
    params = run.parameters or {}
    period = ""
    if params.get("start") and params.get("end"):
        period = f"{str(params['start'])[:10]} → {str(params['end'])[:10]}"
    rows = [
        [ctx.button("Simulate again", "go", subscribed_bot.pk), ctx.button("REPORT", "r", subscribed_bot.pk)],
        [ctx.button("« Bot", "b", subscribed_bot.pk), menu_button(ctx)],
    ]
    if run.status != "finished":
        reason = run.error or run.get_status_display()
        return Screen(title=f"Simulation of {subscribed_bot.bot.name} failed", text=reason, rows=rows)
    lines = [f"Period: {period}"] if period else []
    if params.get("synthetic"):
        lines.append("Prices: synthetic demo data (no real market history on this server).")
    lines += metric_lines(run.metrics or {}) or ["No trades in this period."]
    return Screen(
        title=f"Simulation of {subscribed_bot.bot.name}",
        text="\n".join(lines),
        rows=rows,
        image=run_chart(run),
    )
