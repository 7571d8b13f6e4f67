"""Reports: per bot and overall — yield, accumulated yield, fees, trade count, recent trades, the equity chart
— and a comparison of the user's bots. Figures come from the reports selectors; this module only formats."""

from __future__ import annotations

from typing import Any

from chat import formatting, optional
from chat.context import Ctx
from chat.journeys.menu import menu_button
from chat.journeys.simulation import metric_lines
from chat.registry import action, command
from chat.screens import Image, Screen

BOT_REPORT = ("bots.reports:report_bot", "bots.selectors:subscribed_bot_report")
OVERALL_REPORT = ("bots.reports:report_overall", "bots.selectors:user_report_overall")
EQUITY_CHART = ("trading.charts:equity_chart_png",)
RECENT_TRADES = 5


def _first(paths: tuple[str, ...], what: str) -> Any:
    for path in paths:
        function = optional.lookup(path)
        if function is not None:
            return function
    raise optional.FeatureUnavailable(f"{what} are not available on this server yet.")


def _chart(curve: Any, title: str) -> Image | None:
    if not curve:
        return None
    for path in EQUITY_CHART:
        render = optional.lookup(path)
        if render is not None:
            return Image(png=render(curve, title=title), name="equity.png", alt=f"{title}: equity")
    return None


def _totals(ctx: Ctx, data: dict[str, Any]) -> list[str]:
    currency = data.get("currency") or (ctx.user.display_currency if ctx.user else "USDT")
    lines = []
    if data.get("return_pct") is not None:
        lines.append(f"Yield (this run): {formatting.percent(data['return_pct'])}")
    if data.get("accumulated_return_pct") is not None:
        lines.append(f"Accumulated yield: {formatting.percent(data['accumulated_return_pct'])}")
    if data.get("net_profit") is not None:
        lines.append(f"Profit after fees: {formatting.money(data['net_profit'], currency, signed=True)}")
    if data.get("fees") is not None:
        lines.append(f"Fees: {formatting.money(data['fees'], currency)}")
    if data.get("trade_count") is not None:
        lines.append(f"Trades: {formatting.number(data['trade_count'], 0)}")
    return lines or metric_lines(data.get("metrics") or {}, currency) or ["No trades yet."]


def _trade_line(ctx: Ctx, trade: dict[str, Any], currency: str) -> str:
    moment = trade.get("closed_at") or trade.get("opened_at")
    result = "open" if trade.get("is_open") else formatting.money(trade.get("realized_pnl"), currency, signed=True)
    return f"  {formatting.when(moment, ctx.tz)} {trade.get('side', '')} {trade.get('pair', '')} {result}"


def bot_report(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    from bots.selectors import subscribed_bot_get_for_user

    subscribed_bot = subscribed_bot_get_for_user(user=ctx.user, subscribed_bot_id=subscribed_bot_id)
    data = _first(BOT_REPORT, "Reports")(user=ctx.user, subscribed_bot_id=subscribed_bot.pk) or {}
    currency = data.get("currency") or "USDT"
    lines = [f"Run type: {subscribed_bot.get_run_type_display()}", *_totals(ctx, data)]
    trades = list(data.get("recent_trades") or [])[:RECENT_TRADES]
    if trades:
        lines.append("Recent trades:")
        lines += [_trade_line(ctx, trade, currency) for trade in trades]
    return Screen(
        title=f"Report: {subscribed_bot.bot.name}",
        text="\n".join(lines),
        image=_chart(data.get("equity_curve"), subscribed_bot.bot.name),
        rows=[
            [ctx.button("« Bot", "b", subscribed_bot.pk), ctx.button("All bots", "ro")],
            [menu_button(ctx)],
        ],
    )


@action("r", int)
def bot_report_action(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    return bot_report(ctx, subscribed_bot_id)


def overall_report(ctx: Ctx) -> Screen:
    data = _first(OVERALL_REPORT, "Reports")(user=ctx.user) or {}
    bots = list(data.get("bots") or [])
    rows = [[ctx.button(f"Report: {row['name']}", "r", row["subscribed_bot_id"])] for row in bots[:10]]
    rows.append([ctx.button("Compare bots", "rc"), ctx.button("My bots", "bl")])
    rows.append([menu_button(ctx)])
    return Screen(
        title="Report: all your bots",
        text="\n".join(_totals(ctx, data)),
        image=_chart(data.get("equity_curve"), "All bots"),
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
    data = _first(OVERALL_REPORT, "Reports")(user=ctx.user) or {}
    bots = sorted(data.get("bots") or [], key=lambda row: row.get("return_pct") or 0, reverse=True)
    currency = data.get("currency") or "USDT"
    lines = [
        f"{position}. {row['name']} ({row.get('run_type', '')}): {formatting.percent(row.get('return_pct'))}, "
        f"{formatting.money(row.get('net_profit'), currency, signed=True)}, "
        f"{formatting.number(row.get('trade_count'), 0)} trades"
        for position, row in enumerate(bots, start=1)
    ]
    return Screen(
        title="Your bots compared",
        text="\n".join(lines) or "No bots to compare yet.",
        rows=[[ctx.button("« Report", "ro"), menu_button(ctx)]],
    )
