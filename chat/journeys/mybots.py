"""My bots: the list, a bot card with START / STOP / SETTINGS / REPORT, and the run-type choice."""

from __future__ import annotations

from typing import Any

from chat import formatting
from chat.context import Ctx
from chat.journeys.menu import menu_button
from chat.registry import BOT_CARD_EXTRAS, action, command
from chat.screens import Button, Reply, Screen

# Buttons that act on a bot (start, stop, run type, going live) are valid for 10 minutes.
CONTROL_MAX_AGE = 600

STATE_ICONS = {"stopped": "■", "starting": "…", "running": "▶", "stopping": "…", "error": "⚠"}
RUN_TYPE_NOTES = {
    "simulation": "Simulation (history, no orders)",
    "dry_run": "Dry-run (live prices, paper money)",
    "live": "Live-run (real orders, real money)",
}

def _get(ctx: Ctx, subscribed_bot_id: int) -> Any:
    from bots.selectors import subscribed_bot_get_for_user

    return subscribed_bot_get_for_user(user=ctx.user, subscribed_bot_id=subscribed_bot_id)


def _status_rows(ctx: Ctx) -> dict[int, Any]:
    """bots.monitoring's one-line status per bot (yield since start, position side), by bot id."""
    from bots.monitoring import bot_status_list

    return {row.subscribed_bot_id: row for row in bot_status_list(user=ctx.user)}


def summary_line(ctx: Ctx) -> str:
    from bots.selectors import subscribed_bot_list_for_user

    bots = list(subscribed_bot_list_for_user(user=ctx.user))
    if not bots:
        return "You have no bots yet. Browse Funds & bots to subscribe."
    running = sum(1 for bot in bots if bot.state == "running")
    return f"You have {len(bots)} bot{'s' if len(bots) != 1 else ''}, {running} running."


def _list_line(subscribed_bot: Any, status: Any) -> str:
    parts = [
        f"{STATE_ICONS.get(subscribed_bot.state, '')} {subscribed_bot.bot.name}",
        subscribed_bot.get_state_display().lower(),
        subscribed_bot.get_run_type_display(),
    ]
    if subscribed_bot.status == "pending":
        parts.append("awaiting approval")
    if status is not None and status.symbol:
        parts.append(f"{formatting.percent(status.yield_pct)} since start")
    return " · ".join(parts)


def bot_list(ctx: Ctx) -> Screen:
    from bots.selectors import subscribed_bot_list_for_user

    bots = list(subscribed_bot_list_for_user(user=ctx.user))
    if not bots:
        return Screen(
            title="My bots",
            text="You have no bots yet. Subscribe to a fund or a single bot first.",
            rows=[[ctx.button("Funds & bots", "cat")], [menu_button(ctx)]],
        )
    statuses = _status_rows(ctx)
    rows = [[ctx.button(bot.bot.name, "b", bot.pk)] for bot in bots]
    rows.append([ctx.button("Reports", "ro"), menu_button(ctx)])
    lines = [_list_line(bot, statuses.get(bot.pk)) for bot in bots]
    return Screen(title="My bots", text="\n".join(lines), rows=rows)


@action("bl")
def bot_list_action(ctx: Ctx) -> Screen:
    return bot_list(ctx)


@command("bots", "Your bots: state, run type and yield")
def bots_command(ctx: Ctx, arg: str) -> Screen:
    return bot_list(ctx)


@command("status", "Same as bots", hidden=True)
def status_command(ctx: Ctx, arg: str) -> Screen:
    return bot_list(ctx)


def _settings_summary(subscribed_bot: Any) -> str:
    from bots.selectors import subscribed_bot_effective_settings

    values = subscribed_bot_effective_settings(subscribed_bot=subscribed_bot)
    return " · ".join(f"{name} {formatting.quantity(value)}" for name, value in list(values.items())[:8])


def _status_lines(ctx: Ctx, subscribed_bot: Any) -> list[str]:
    """The current (or last) dry/live run: equity, yield, position, fees, last tick — from bots.monitoring."""
    from bots.monitoring import bot_status_get

    if subscribed_bot.run_type == "simulation":
        return []
    status = bot_status_get(user=ctx.user, subscribed_bot_id=subscribed_bot.pk)
    if status.run_id is None:
        return []
    currency = ctx.user.display_currency
    lines = [
        f"Market: {status.symbol} {status.timeframe} on {status.exchange}",
        f"Equity: {formatting.money(status.equity, currency)} ({formatting.percent(status.yield_pct)} since start)",
    ]
    position = status.position
    if position is not None:
        entry = f" @ {formatting.quantity(position.entry_price)}" if position.entry_price else ""
        lines.append(f"Position: {position.side} {formatting.quantity(position.amount)}{entry}, unrealised "
                     f"{formatting.money(position.unrealized_pnl, currency, signed=True)}")
    else:
        lines.append("Position: none")
    lines.append(f"Realised: {formatting.money(status.realized_pnl, currency, signed=True)} · fees "
                 f"{formatting.money(status.fees, currency)} · {status.trade_count} trades")
    if status.last_tick_at:
        lines.append(f"Last tick: {formatting.when(status.last_tick_at, ctx.tz, seconds=True)}")
    return lines


def bot_card(ctx: Ctx, subscribed_bot_id: int, note: str = "") -> Screen:
    subscribed_bot = _get(ctx, subscribed_bot_id)
    bot_id = subscribed_bot.pk
    state = subscribed_bot.state
    lines = [note] if note else []
    fund = subscribed_bot.fund_subscription.fund.name if subscribed_bot.fund_subscription else ""
    if fund:
        lines.append(f"Part of {fund}")
    state_line = f"State: {STATE_ICONS.get(state, '')} {subscribed_bot.get_state_display()}"
    if subscribed_bot.state_changed_at:
        state_line += f" since {formatting.when(subscribed_bot.state_changed_at, ctx.tz)}"
    lines.append(state_line)
    if subscribed_bot.state_reason:
        lines.append(f"Reason: {subscribed_bot.state_reason}")
    if subscribed_bot.status == "pending":
        lines.append("Subscription: awaiting operator approval")
    lines.append(f"Run type: {RUN_TYPE_NOTES.get(subscribed_bot.run_type, subscribed_bot.run_type)}")
    if subscribed_bot.exchange_setting:
        key = subscribed_bot.exchange_setting
        lines.append(f"Exchange key: {key.name} ({key.exchange}, {key.api_key_hint})")
    lines += _status_lines(ctx, subscribed_bot)
    lines.append(f"Settings: {_settings_summary(subscribed_bot)}")

    control: list[Button] = []
    if subscribed_bot.bot.kind == "manual":
        pass  # played by hand from its own panel (BOT_CARD_EXTRAS), no START/STOP
    elif state in ("stopped", "error"):
        control.append(ctx.button("START", "go", bot_id, style="primary"))
    elif state in ("starting", "running"):
        control.append(ctx.button("STOP", "sp", bot_id, style="danger"))
    else:
        control.append(ctx.button("Refresh", "b", bot_id))
    control += [ctx.button("SETTINGS", "se", bot_id), ctx.button("REPORT", "r", bot_id)]
    rows = [
        control,
        *[row for extra in BOT_CARD_EXTRAS for row in extra(ctx, subscribed_bot) or []],
        [ctx.button(f"Run type: {subscribed_bot.get_run_type_display()}", "rt", bot_id)],
        [ctx.button("« My bots", "bl"), menu_button(ctx)],
    ]
    return Screen(title=subscribed_bot.bot.name, text="\n".join(lines), rows=rows)


@action("b", int)
def bot_card_action(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    return bot_card(ctx, subscribed_bot_id)


# --- START / STOP ------------------------------------------------------------------------------------------------


@action("go", int, mutates=True, max_age=CONTROL_MAX_AGE, refresh=bot_card_action)
def start_pressed(ctx: Ctx, subscribed_bot_id: int) -> Reply | Screen:
    """START: a simulation asks for a range, live asks for confirmation, dry-run just starts."""
    subscribed_bot = _get(ctx, subscribed_bot_id)
    if subscribed_bot.run_type == "simulation":
        from chat.journeys import simulation

        return simulation.range_screen(ctx, subscribed_bot.pk)
    if subscribed_bot.run_type == "live":
        key = subscribed_bot.exchange_setting
        on_key = f" on exchange key {key.name} ({key.api_key_hint})" if key else ""
        return Screen(
            title=f"Start {subscribed_bot.bot.name} LIVE?",
            text=f"It will place real orders with real money{on_key}. You can stop it at any time.",
            rows=[
                [
                    ctx.button("Yes, start live", "go!", subscribed_bot.pk, style="danger"),
                    ctx.button("Cancel", "b", subscribed_bot.pk),
                ]
            ],
        )
    return bot_start(ctx, subscribed_bot.pk)


@action("go!", int, mutates=True, max_age=CONTROL_MAX_AGE, refresh=bot_card_action)
def bot_start(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    from bots import runtime

    runtime.bot_start(user=ctx.user, subscribed_bot_id=subscribed_bot_id)
    return bot_card(ctx, subscribed_bot_id, note="Start requested.")


@action("sp", int, max_age=CONTROL_MAX_AGE, refresh=bot_card_action)
def stop_pressed(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    subscribed_bot = _get(ctx, subscribed_bot_id)
    money = "real money" if subscribed_bot.run_type == "live" else "paper money"
    return Screen(
        title=f"Stop {subscribed_bot.bot.name}?",
        text=f"Close its open position ({money}) at market, or stop and leave the position open?",
        rows=[
            [ctx.button("Stop and close position", "sp!", subscribed_bot.pk, 1, style="danger")],
            [ctx.button("Stop, keep position", "sp!", subscribed_bot.pk, 0)],
            [ctx.button("Cancel", "b", subscribed_bot.pk)],
        ],
    )


@action("sp!", int, int, mutates=True, max_age=CONTROL_MAX_AGE, refresh=lambda ctx, pk, close: bot_card(ctx, pk))
def bot_stop(ctx: Ctx, subscribed_bot_id: int, close_position: int) -> Screen:
    from bots import runtime

    runtime.bot_stop(user=ctx.user, subscribed_bot_id=subscribed_bot_id, close_position=bool(close_position))
    return bot_card(ctx, subscribed_bot_id, note="Stop requested.")


# --- run type ------------------------------------------------------------------------------------------------------


@action("rt", int, max_age=CONTROL_MAX_AGE, refresh=bot_card_action)
def run_type_choose(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    subscribed_bot = _get(ctx, subscribed_bot_id)
    pk = subscribed_bot.pk
    text = "\n".join(
        f"{'●' if subscribed_bot.run_type == run_type else '○'} {note}" for run_type, note in RUN_TYPE_NOTES.items()
    )
    return Screen(
        title=f"How should {subscribed_bot.bot.name} run?",
        text=text,
        rows=[
            [ctx.button("Simulation", "rt!", pk, "simulation"), ctx.button("Dry-run", "rt!", pk, "dry_run")],
            [ctx.button("Live-run…", "lv", pk, style="danger")],
            [ctx.button("« Bot", "b", pk)],
        ],
    )


@action("rt!", int, str, mutates=True, max_age=CONTROL_MAX_AGE, refresh=lambda ctx, pk, _: bot_card(ctx, pk))
def run_type_set(ctx: Ctx, subscribed_bot_id: int, run_type: str) -> Screen:
    from bots.services import subscribed_bot_run_type_set

    subscribed_bot = subscribed_bot_run_type_set(user=ctx.user, subscribed_bot_id=subscribed_bot_id, run_type=run_type)
    return bot_card(ctx, subscribed_bot.pk, note=f"Run type: {subscribed_bot.get_run_type_display()}.")


@action("lv", int, max_age=CONTROL_MAX_AGE, refresh=bot_card_action)
def live_key_choose(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    from exchanges.selectors import exchange_setting_list_for_user

    subscribed_bot = _get(ctx, subscribed_bot_id)
    keys = list(exchange_setting_list_for_user(user=ctx.user))
    rows = [
        [ctx.button(f"{key.name} ({key.api_key_hint}) — {key.get_validation_status_display()}", "lvk",
                    subscribed_bot.pk, key.pk)]
        for key in keys
    ]
    rows.append([ctx.button("Add exchange key", "ka")])
    rows.append([ctx.button("« Bot", "b", subscribed_bot.pk)])
    text = (
        "Live-run places real orders on your exchange account. Which API key should it use?"
        if keys
        else "Live-run needs one of your exchange API keys, validated with the exchange. Add one first."
    )
    return Screen(title=f"{subscribed_bot.bot.name}: live-run", text=text, rows=rows)


@action("lvk", int, int, max_age=CONTROL_MAX_AGE, refresh=lambda ctx, pk, _: bot_card(ctx, pk))
def live_confirm(ctx: Ctx, subscribed_bot_id: int, exchange_setting_id: int) -> Screen:
    subscribed_bot = _get(ctx, subscribed_bot_id)
    return Screen(
        title="Switch to live-run?",
        text=f"{subscribed_bot.bot.name} will trade REAL MONEY on your exchange account when started. "
        "Leveraged trading can lose more than you expect, quickly. Only continue if you accept that risk.",
        rows=[
            [ctx.button("I understand, switch to live", "lv!", subscribed_bot.pk, exchange_setting_id,
                        style="danger")],
            [ctx.button("Cancel", "b", subscribed_bot.pk)],
        ],
    )


@action("lv!", int, int, mutates=True, max_age=CONTROL_MAX_AGE, refresh=lambda ctx, pk, _: bot_card(ctx, pk))
def live_switch(ctx: Ctx, subscribed_bot_id: int, exchange_setting_id: int) -> Screen:
    from bots.services import subscribed_bot_run_type_set
    from users.services import user_live_trading_confirm

    # Pressing the button above is the risk acknowledgement the live rules require.
    ctx.user = user_live_trading_confirm(user=ctx.user)
    subscribed_bot_run_type_set(
        user=ctx.user, subscribed_bot_id=subscribed_bot_id, run_type="live", exchange_setting_id=exchange_setting_id
    )
    return bot_card(ctx, subscribed_bot_id, note="Live-run set. Press START when you are ready.")
