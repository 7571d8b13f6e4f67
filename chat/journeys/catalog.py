"""Catalog: funds and bots by kind, their cards, subscribing and unsubscribing."""

from __future__ import annotations

from typing import Any

from chat import formatting
from chat.context import Ctx
from chat.journeys.menu import menu_button
from chat.registry import action, command
from chat.screens import Button, Reply, Screen
from core.errors import Conflict

KINDS = (("automated", "Automated bots"), ("manual", "Manual bots"), ("indicator", "Indicator bots"))
CONFIRM_MAX_AGE = 600


def _hub_button(ctx: Ctx) -> Button:
    return ctx.button("« Funds & bots", "cat")


def hub(ctx: Ctx) -> Screen:
    return Screen(
        title="Funds & bots",
        text="A fund bundles several bots in one subscription. Or pick single bots by kind:\n"
        "• Automated bots trade by themselves.\n"
        "• Manual bots act when you press a button.\n"
        "• Indicator bots never trade; they send you signals.",
        rows=[
            [ctx.button("Funds", "fl")],
            [ctx.button(label, "cb", kind) for kind, label in KINDS],
            [menu_button(ctx)],
        ],
    )


@action("cat")
def hub_action(ctx: Ctx) -> Screen:
    return hub(ctx)


@command("catalog", "Browse funds and bots", aliases=("bots_catalog",))
def catalog_command(ctx: Ctx, arg: str) -> Screen:
    return hub(ctx)


# --- funds ------------------------------------------------------------------------------------------------------


def _fee(fund: Any) -> str:
    if not fund.fee:
        return "free"
    return f"{formatting.money(fund.fee, fund.currency)} per {fund.get_period_display().lower().removesuffix('ly')}"


def _headline(record: dict[str, Any]) -> str:
    """One phrase for a list line: the realest published return (live, else dry-run), named as such."""
    kind = record.get("return_run_type")
    if kind is None or record.get("return_pct") is None:
        return "no track record yet"
    label = "live" if kind == "live" else "dry-run"
    return f"{label} {formatting.percent(record['return_pct'])} in {record.get('period', 'the last days')}"


def fund_list(ctx: Ctx) -> Screen:
    from funds.selectors import fund_list_open, funds_track_record_attach

    funds = funds_track_record_attach(fund_list_open())
    lines = [
        f"• {fund.name} — {_fee(fund)}, {len(fund.fund_bots.all())} bots, "
        f"{formatting.number(fund.subscriber_count, 0)} subscribers, {_headline(fund.track_record)}"
        for fund in funds
    ]
    rows = [[ctx.button(fund.name, "fc", fund.pk)] for fund in funds]
    rows.append([_hub_button(ctx), menu_button(ctx)])
    return Screen(title="Funds", text="\n".join(lines) or "No funds are open for subscription right now.", rows=rows)


@action("fl")
def fund_list_action(ctx: Ctx) -> Screen:
    return fund_list(ctx)


@command("funds", "Funds open for subscription")
def funds_command(ctx: Ctx, arg: str) -> Screen:
    return fund_list(ctx)


RECORD_KINDS = (("live", "Live (real money)"), ("dry_run", "Dry-run (paper money)"))


def _record_part_line(label: str, part: dict[str, Any], *, fund_bots: int | None) -> str | None:
    if part.get("withheld"):
        return f"  {label}: run by too few accounts to publish yet"
    if part.get("return_pct") is None:
        return None
    # bot_count: the subscribers' copies of the bot the figure pools.
    basis = f"from {formatting.number(part['bot_count'], 0)} subscriber bot{'s' if part['bot_count'] != 1 else ''}"
    if fund_bots is not None:
        basis += f" of {part.get('fund_bots_covered', 0)} of its {fund_bots} bots"
    trades = part.get("trade_count")
    return (f"  {label}: {formatting.percent(part['return_pct'])} · {basis}"
            + (f" · {formatting.number(trades, 0)} trades" if trades is not None else ""))


def _simulation_line(simulation: dict[str, Any] | None, *, fund_bots: int | None) -> str:
    if not simulation or simulation.get("return_pct") is None:
        return "Simulation: none published yet."
    notes = []
    if simulation.get("start") and simulation.get("end"):
        notes.append(f"{simulation['start']} → {simulation['end']}")
    if fund_bots is not None:
        notes.append(f"{simulation.get('fund_bots_covered', 0)} of its {fund_bots} bots, weighted")
    if simulation.get("synthetic"):
        notes.append("synthetic prices")
    drawdown = simulation.get("max_drawdown_pct")
    trades = simulation.get("trades")
    detail = " (" + ", ".join(notes) + ")" if notes else ""
    return (
        f"Reference simulation{detail}: {formatting.percent(simulation['return_pct'])}"
        + (f", max drawdown {formatting.percent(drawdown, signed=False)}" if drawdown is not None else "")
        + (f", {formatting.number(trades, 0)} trades" if trades is not None else "")
    )


def _track_record_lines(ctx: Ctx, record: dict | None) -> list[str]:
    """The figures of bots.selectors.bot_track_record / funds.selectors.fund_track_record, as they are: live and
    dry-run apart, the simulation labelled as one, and "none yet" where there is no data. Nothing computed here."""
    if not record:
        return ["Track record: not available on this server."]
    fund_bots = record.get("fund_bot_count")
    parts = [_record_part_line(label, record.get(kind) or {}, fund_bots=fund_bots) for kind, label in RECORD_KINDS]
    parts = [line for line in parts if line]
    period = record.get("period") or "the last days"
    lines = [f"Track record, {period} (realised after fees, every subscriber's bot pooled):", *parts] if parts else [
        f"Track record: none yet — no dry-run or live results in {period}."]
    lines.append(_simulation_line(record.get("simulation"), fund_bots=fund_bots))
    if parts or record.get("simulation"):
        lines.append("Past results, simulated or real, do not promise future ones.")
    return lines


def fund_card(ctx: Ctx, fund_id: int, note: str = "") -> Screen:
    from funds.selectors import fund_get, fund_subscription_current_for_user, funds_track_record_attach

    fund = funds_track_record_attach([fund_get(fund_id=fund_id)])[0]
    current = fund_subscription_current_for_user(user=ctx.user, fund=fund)
    bots = [f"  {formatting.percent(fb.weight, ratio=True, signed=False, places=0)} {fb.bot.name}" for fb in
            fund.fund_bots.all()]
    lines = [note] if note else []
    lines += [
        fund.description,
        f"Fee: {_fee(fund)}" + (" (an operator approves each subscription)" if fund.requires_approval else ""),
        f"Subscribers: {formatting.number(fund.subscriber_count, 0)}",
        "Bots:",
        *bots,
        *_track_record_lines(ctx, fund.track_record),
    ]
    rows: list[list[Button]] = []
    if current is None:
        rows.append([ctx.button("Subscribe", "fs", fund.pk, style="primary")])
    else:
        lines.append(f"\nYou are subscribed ({current.get_status_display().lower()}).")
        rows.append([ctx.button("My bots", "bl"), ctx.button("Unsubscribe", "fu", current.pk, style="danger")])
    rows.append([ctx.button("« Funds", "fl"), menu_button(ctx)])
    return Screen(title=fund.name, text="\n".join(line for line in lines if line), rows=rows)


@action("fc", int)
def fund_card_action(ctx: Ctx, fund_id: int) -> Screen:
    return fund_card(ctx, fund_id)


@action("fs", int)
def fund_subscribe_confirm(ctx: Ctx, fund_id: int) -> Screen:
    from funds.selectors import fund_get

    fund = fund_get(fund_id=fund_id)
    approval = " An operator approves the subscription before the bots can run." if fund.requires_approval else ""
    return Screen(
        title=f"Subscribe to {fund.name}?",
        text=f"Fee: {_fee(fund)}. Until payments are switched on, subscriptions are free.{approval}\n\n"
        f"You get its {len(fund.fund_bots.all())} bots in My bots, stopped, in dry-run (paper money).",
        rows=[
            [ctx.button("Yes, subscribe", "fs!", fund.pk, style="primary"), ctx.button("Cancel", "fc", fund.pk)],
        ],
    )


@action("fs!", int, mutates=True, max_age=CONFIRM_MAX_AGE, refresh=fund_card_action)
def fund_subscribe(ctx: Ctx, fund_id: int) -> Screen:
    from funds.services import fund_subscribe as subscribe

    subscription = subscribe(user=ctx.user, fund_id=fund_id)
    note = (
        "Subscribed. An operator will approve it; the bots are in My bots meanwhile."
        if subscription.status == "pending"
        else "Subscribed. Its bots are in My bots, stopped, in dry-run."
    )
    return fund_card(ctx, fund_id, note=note)


@action("fu", int)
def fund_unsubscribe_confirm(ctx: Ctx, fund_subscription_id: int) -> Screen:
    from funds.selectors import fund_subscription_get_for_user

    subscription = fund_subscription_get_for_user(user=ctx.user, fund_subscription_id=fund_subscription_id)
    return Screen(
        title=f"Unsubscribe from {subscription.fund.name}?",
        text="Its bots leave My bots. Running bots must be stopped first.",
        rows=[
            [
                ctx.button("Yes, unsubscribe", "fu!", subscription.pk, style="danger"),
                ctx.button("Cancel", "fc", subscription.fund_id),
            ]
        ],
    )


def _fund_subscription_refresh(ctx: Ctx, fund_subscription_id: int) -> Screen:
    from funds.selectors import fund_subscription_get_for_user

    subscription = fund_subscription_get_for_user(user=ctx.user, fund_subscription_id=fund_subscription_id)
    return fund_card(ctx, subscription.fund_id)


@action("fu!", int, mutates=True, max_age=CONFIRM_MAX_AGE, refresh=_fund_subscription_refresh)
def fund_unsubscribe(ctx: Ctx, fund_subscription_id: int) -> Screen:
    from funds.services import fund_subscription_cancel

    subscription = fund_subscription_cancel(user=ctx.user, fund_subscription_id=fund_subscription_id)
    return fund_card(ctx, subscription.fund_id, note=f"Unsubscribed from {subscription.fund.name}.")


# --- single bots --------------------------------------------------------------------------------------------------


def bot_list(ctx: Ctx, kind: str) -> Screen:
    from bots.selectors import bot_catalog_list, bots_track_record_attach

    bots = bots_track_record_attach(bot_catalog_list(kind=kind))
    label = dict(KINDS).get(kind, "Bots")
    lines = [
        f"• {bot.name} — {bot.description} ({formatting.number(bot.subscriber_count, 0)} subscribers, "
        f"{_headline(bot.track_record)})"
        for bot in bots
    ]
    rows = [[ctx.button(bot.name, "cbc", bot.pk)] for bot in bots]
    rows.append([_hub_button(ctx), menu_button(ctx)])
    return Screen(title=label, text="\n".join(lines) or "None in the catalog right now.", rows=rows)


@action("cb", str)
def bot_list_action(ctx: Ctx, kind: str) -> Screen:
    return bot_list(ctx, kind)


def catalog_bot_card(ctx: Ctx, bot_id: int, note: str = "") -> Screen:
    from bots.selectors import bot_get_listed, bots_track_record_attach

    bot = bots_track_record_attach([bot_get_listed(bot_id=bot_id)])[0]
    lines = [note] if note else []
    lines += [
        bot.description,
        f"Kind: {bot.get_kind_display()} · version {bot.version}",
        "Fee: included in the funds that contain it; free on its own while payments are off.",
        f"Subscribers: {formatting.number(bot.subscriber_count, 0)}",
        *_track_record_lines(ctx, bot.track_record),
    ]
    return Screen(
        title=bot.name,
        text="\n".join(line for line in lines if line),
        rows=[
            [ctx.button("Subscribe", "bs", bot.pk, style="primary")],
            [ctx.button("« Back", "cb", bot.kind), menu_button(ctx)],
        ],
    )


@action("cbc", int)
def catalog_bot_card_action(ctx: Ctx, bot_id: int) -> Screen:
    return catalog_bot_card(ctx, bot_id)


@action("bs", int, mutates=True, max_age=CONFIRM_MAX_AGE, refresh=catalog_bot_card_action)
def bot_subscribe(ctx: Ctx, bot_id: int) -> Reply | Screen:
    from bots.services import bot_subscribe as subscribe
    from chat.journeys import mybots

    try:
        subscribed = subscribe(user=ctx.user, bot_id=bot_id)
    except Conflict as error:
        existing = error.extra.get("subscribed_bot_id")
        if existing is None:
            raise
        return mybots.bot_card(ctx, existing, note=error.message)
    return mybots.bot_card(ctx, subscribed.pk, note="Subscribed. It starts stopped, in dry-run (paper money).")
