"""Catalog: funds and bots by kind, their cards, subscribing and unsubscribing."""

from __future__ import annotations

from typing import Any

from chat import formatting, optional
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


def fund_list(ctx: Ctx) -> Screen:
    from funds.selectors import fund_list_open

    funds = list(fund_list_open())
    lines = [
        f"• {fund.name} — {_fee(fund)}, {len(fund.fund_bots.all())} bots, "
        f"{formatting.number(fund.subscriber_count, 0)} subscribers"
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


def _track_record_lines(ctx: Ctx, record: dict | None) -> list[str]:
    """Published performance (shape from the reports/simulation services); nothing is computed here."""
    if not record:
        return ["Track record: not published yet."]
    lines = []
    if "return_pct" in record:
        lines.append(f"Track record: {formatting.percent(record['return_pct'])} over {record.get('period', '—')}")
    if "simulation_return_pct" in record:
        lines.append(
            f"Simulation: {formatting.percent(record['simulation_return_pct'])}, max drawdown "
            f"{formatting.percent(record.get('simulation_max_drawdown_pct'), signed=False)}"
        )
    return lines or ["Track record: not published yet."]


def fund_card(ctx: Ctx, fund_id: int, note: str = "") -> Screen:
    from funds.selectors import fund_get, fund_subscription_current_for_user

    fund = fund_get(fund_id=fund_id)
    current = fund_subscription_current_for_user(user=ctx.user, fund=fund)
    bots = [f"  {formatting.percent(fb.weight, ratio=True, signed=False, places=0)} {fb.bot.name}" for fb in
            fund.fund_bots.all()]
    stats = optional.lookup("funds.selectors:fund_track_record")
    lines = [note] if note else []
    lines += [
        fund.description,
        f"Fee: {_fee(fund)}" + (" (an operator approves each subscription)" if fund.requires_approval else ""),
        f"Subscribers: {formatting.number(fund.subscriber_count, 0)}",
        "Bots:",
        *bots,
        *_track_record_lines(ctx, stats(fund_id=fund.pk) if stats else None),
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
    from bots.selectors import bot_catalog_list

    bots = list(bot_catalog_list(kind=kind))
    label = dict(KINDS).get(kind, "Bots")
    lines = [f"• {bot.name} — {bot.description}" for bot in bots]
    rows = [[ctx.button(bot.name, "cbc", bot.pk)] for bot in bots]
    rows.append([_hub_button(ctx), menu_button(ctx)])
    return Screen(title=label, text="\n".join(lines) or "None in the catalog right now.", rows=rows)


@action("cb", str)
def bot_list_action(ctx: Ctx, kind: str) -> Screen:
    return bot_list(ctx, kind)


def catalog_bot_card(ctx: Ctx, bot_id: int, note: str = "") -> Screen:
    from bots.selectors import bot_get_listed

    bot = bot_get_listed(bot_id=bot_id)
    stats = optional.lookup("bots.selectors:bot_track_record")
    subscribers = getattr(bot, "subscriber_count", None)
    lines = [note] if note else []
    lines += [
        bot.description,
        f"Kind: {bot.get_kind_display()} · version {bot.version}",
        "Fee: included in the funds that contain it; free on its own while payments are off.",
    ]
    if subscribers is not None:
        lines.append(f"Subscribers: {formatting.number(subscribers, 0)}")
    lines += _track_record_lines(ctx, stats(bot_id=bot.pk) if stats else None)
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
