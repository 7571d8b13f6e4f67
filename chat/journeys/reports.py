"""Reports: per bot and overall — yield, accumulated yield, fees, trade count, recent trades, the equity chart
— and a comparison of the user's bots. Figures come from bots.monitoring (never mixed across run types);
this module only formats them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bots.monitoring import report_compare, report_for_bot, report_overall
from chat import formatting
from chat.charts import equity_chart_png
from chat.context import Ctx
from chat.journeys.menu import menu_button
from chat.registry import action, command
from chat.screens import Button, Image, Screen

RUN_TYPE_LABELS = {"simulation": "Simulation", "dry_run": "Dry-run (paper money)", "live": "Live (real money)"}
RECENT_TRADES = 5


def _currency(ctx: Ctx) -> str:
    return ctx.user.display_currency if ctx.user is not None else "USDT"


def _chart(series: Sequence[Any], title: str, currency: str) -> Image | None:
    png = equity_chart_png(list(series or []), title=title, currency=currency)
    return Image(png=png, name="equity.png", alt=f"{title}: equity") if png else None


def _trade_lines(ctx: Ctx, trades: Sequence[Any], currency: str) -> list[str]:
    lines = []
    for trade in list(trades)[:RECENT_TRADES]:
        moment = trade.closed_at or trade.opened_at
        result = "open" if trade.is_open else formatting.money(trade.realized_pnl, currency, signed=True)
        lines.append(f"  {formatting.when(moment, ctx.tz)} · {trade.get_side_display()} {trade.pair} · {result}")
    return ["Recent trades:", *lines] if lines else ["No trades yet."]


def bot_report(ctx: Ctx, subscribed_bot_id: int, run_type: str | None = None) -> Screen:
    report = report_for_bot(user=ctx.user, subscribed_bot_id=subscribed_bot_id, run_type=run_type)
    currency = _currency(ctx)
    kind = RUN_TYPE_LABELS.get(report.run_type, report.run_type)
    lines = [f"Run type: {kind}"]
    if report.current is None:
        lines.append("No runs of this type yet.")
    else:
        lines += [
            f"Yield of the latest run: {formatting.percent(report.current.yield_pct)}",
            f"Accumulated yield ({report.run_count} run{'s' if report.run_count != 1 else ''}): "
            f"{formatting.percent(report.accumulated_yield_pct)}",
            f"Profit after fees: {formatting.money(report.total_pnl, currency, signed=True)}",
            f"Fees: {formatting.money(report.fees, currency)}",
            f"Trades: {formatting.number(report.trade_count, 0)}",
            *_trade_lines(ctx, report.recent_trades, currency),
        ]
    pk = report.subscribed_bot_id
    tabs = [ctx.button(("● " if value == report.run_type else "") + label.split(" (")[0], "rr", pk, value)
            for value, label in RUN_TYPE_LABELS.items()]
    return Screen(
        title=f"Report: {report.name}",
        text="\n".join(lines),
        image=_chart(report.equity_series, f"{report.name} · {kind}", currency),
        rows=[tabs, [ctx.button("« Bot", "b", pk), ctx.button("All bots", "ro")], [menu_button(ctx)]],
    )


@action("r", int)
def bot_report_action(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    return bot_report(ctx, subscribed_bot_id)


@action("rr", int, str)
def bot_report_of_type(ctx: Ctx, subscribed_bot_id: int, run_type: str) -> Screen:
    return bot_report(ctx, subscribed_bot_id, run_type)


def overall_report(ctx: Ctx) -> Screen:
    from bots.selectors import subscribed_bot_list_for_user

    reports = report_overall(user=ctx.user)
    currency = _currency(ctx)
    lines: list[str] = []
    for run_type, report in reports.items():
        lines += [
            f"{RUN_TYPE_LABELS.get(run_type, run_type)} — {report.bot_count} bot{'s' if report.bot_count != 1 else ''}",
            f"  Yield of the latest runs: {formatting.percent(report.yield_pct)} "
            f"({formatting.money(report.pnl, currency, signed=True)})",
            f"  Accumulated: {formatting.money(report.accumulated_pnl, currency, signed=True)} · "
            f"fees {formatting.money(report.fees, currency)} · {formatting.number(report.trade_count, 0)} trades",
        ]
    # The chart shows the realest money there is: live, else paper, else simulation.
    shown = next((reports[kind] for kind in ("live", "dry_run", "simulation") if kind in reports), None)
    bots = list(subscribed_bot_list_for_user(user=ctx.user))[:10]
    rows: list[list[Button]] = [[ctx.button(f"Report: {bot.bot.name}", "r", bot.pk)] for bot in bots]
    rows.append([ctx.button("Compare bots", "rc"), ctx.button("My bots", "bl")])
    rows.append([menu_button(ctx)])
    return Screen(
        title="Report: all your bots",
        text="\n".join(lines) or "No runs yet. Start a bot (or a simulation) and its results show up here.",
        image=_chart(shown.equity_series, f"All bots · {RUN_TYPE_LABELS[shown.run_type]}", currency)
        if shown
        else None,
        rows=rows,
    )


@action("ro")
def overall_report_action(ctx: Ctx) -> Screen:
    return overall_report(ctx)


@command("report", "Yield, fees and trades of your bots")
def report_command(ctx: Ctx, arg: str) -> Screen:
    return overall_report(ctx)


@action("rc")
def compare(ctx: Ctx) -> Screen:
    tables = report_compare(user=ctx.user)
    currency = _currency(ctx)
    lines: list[str] = []
    for run_type, rows in tables.items():
        lines.append(RUN_TYPE_LABELS.get(run_type, run_type))
        for position, row in enumerate(rows, start=1):
            win_rate = f", {formatting.percent(row.win_rate_pct, signed=False, places=0)} won" if (
                row.win_rate_pct is not None) else ""
            lines.append(
                f"  {position}. {row.name}: {formatting.percent(row.yield_pct)} "
                f"({formatting.money(row.pnl, currency, signed=True)}), max drawdown "
                f"{formatting.percent(row.max_drawdown_pct, signed=False)}, {row.trade_count} trades{win_rate}"
            )
    return Screen(
        title="Your bots compared",
        text="\n".join(lines) or "No runs to compare yet.",
        rows=[[ctx.button("« Report", "ro"), menu_button(ctx)]],
    )
