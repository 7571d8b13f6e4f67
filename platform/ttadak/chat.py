"""The Ttadak game panel, a chat journey (chat.journeys loads it as an extension): symbol, last price,
position, leverage, the last games and running P&L, the BUY GAME / SELL GAME buttons, START / STOP,
settings and the "does it earn at my fee level?" simulation.

A press is latency-critical, so surfaces with an event loop take it on their own fast path before the
core sees it (Telegram: ttadak.telegram claims `a:tg|…` callbacks; Slack: ttadak.slack). The `tg` action
below is the fallback for sync surfaces (the terminal): it hands the press to the process's engine
thread (ttadak.host). On the fast paths the press's idempotency key is the pressed button's own
signature, so a double tap or a redelivered callback of the same panel button finds the first game.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from chat import formatting, payloads
from chat.context import Actor, Ctx
from chat.journeys.menu import menu_button
from chat.registry import action, bot_card_extra, command
from chat.screens import Button, Reply, Screen
from core.errors import ApplicationError, Conflict, ValidationError
from ttadak import ahead

PRESS_CODE = "tg"
CLOSE_CODE = "ttx"  # CLOSE NOW: asks first; "ttx!" closes
SIDES = {"L": "long", "S": "short"}
# A game button older than this redraws the panel instead of playing (the screen the user saw is stale).
PRESS_MAX_AGE = 30 * 60
CONTROL_MAX_AGE = 600
SIM_DAYS = (1, 7, 30)
SIM_EVERY_MINUTES = 5


# --- reading ---------------------------------------------------------------------------------------------------


def _bot(ctx: Ctx, subscribed_bot_id: int) -> Any:
    from ttadak.selectors import ttadak_bot_get_for_user

    return ttadak_bot_get_for_user(user=ctx.user, subscribed_bot_id=subscribed_bot_id)


def _last_price(exchange: str, symbol: str) -> tuple[Decimal | None, str]:
    """The live price this process's engine holds, else the latest stored candle's close (labelled)."""
    from ttadak.selectors import ttadak_last_price

    price, source = ttadak_last_price(exchange=exchange, symbol=symbol)
    return price, {"candle": " (last stored candle)", "synthetic_candle": " (last stored candle, synthetic)"}.get(
        source, "")


def _settings_line(settings: dict[str, Any]) -> str:
    fee = settings["fee_level"]
    if fee == "custom":
        fee = f"maker {formatting.quantity(settings['maker_fee_pct'])} % / taker " \
              f"{formatting.quantity(settings['taker_fee_pct'])} %"
    return (f"{settings['leverage']}x · {formatting.quantity(settings['order_amount'])} per game · target "
            f"+{formatting.quantity(settings['target_yield_pct'])} % · stop −"
            f"{formatting.quantity(settings['stop_loss_pct'])} % · max {settings['max_duration_s']} s · fees {fee}")


def _game_in_play_line(ctx: Ctx, game: Any) -> str:
    if game.state == "attention":
        return f"⚠ {game.get_side_display()} #{game.pk} needs attention: {game.message}"
    if game.state == "sending":
        return f"{game.get_side_display()} #{game.pk}: orders on their way…"
    if game.state == "closing":
        return f"{game.get_side_display()} #{game.pk}: closing…"
    direction = "long" if game.side == "long" else "short"
    left = max(0, int((game.deadline_at - timezone.now()).total_seconds()))
    return (f"▶ {game.get_side_display()} #{game.pk} in play: {formatting.quantity(game.amount)} {direction} from "
            f"{formatting.number(game.entry_price, 2)} · exit {formatting.number(game.exit_limit_price, 2)} · stop "
            f"{formatting.number(game.stop_loss_price, 2)} · ends in {left} s")


def _result_line(game: Any) -> str:
    from ttadak.services.games import result_line

    line = result_line(game)
    if game.state == "failed" and game.message:
        line += f" — {game.message}"
    return line


def panel(ctx: Ctx, subscribed_bot_id: int, note: str = "") -> Screen:
    """The game panel of one Ttadak bot."""
    from ttadak import identities
    from ttadak.selectors import ttadak_panel_get
    from ttadak.services.play import CLOSABLE_STATES

    state_of = ttadak_panel_get(user=ctx.user, subscribed_bot_id=subscribed_bot_id)
    subscribed_bot = state_of.subscribed_bot
    pk = subscribed_bot.pk
    # Whoever sees a panel may press it: let this process's fast path know their account.
    identities.remember(surface=ctx.actor.surface, team_id=ctx.actor.team_id,
                        external_user_id=ctx.actor.external_user_id, user_id=ctx.user.pk)
    lines = [note] if note else []
    settings = state_of.settings
    if state_of.settings_error:
        lines.append(state_of.settings_error)
    running = subscribed_bot.state == "running"
    state = {"running": "▶ ready to play", "error": "⚠ error", "stopped": "■ stopped"}.get(
        subscribed_bot.state, subscribed_bot.get_state_display().lower())
    lines.append(f"{state} · {subscribed_bot.get_run_type_display()}")
    if subscribed_bot.state == "error" and subscribed_bot.state_reason:
        lines.append(f"Reason: {subscribed_bot.state_reason}")
    if settings is not None:
        price, source = _last_price(state_of.exchange, settings["symbol"])
        lines.append(f"{settings['symbol']} · last price {formatting.number(price, 2)}{source}")
        lines.append(_settings_line(settings))
    in_play = state_of.in_play
    lines.append(_game_in_play_line(ctx, in_play) if in_play else "Position: none")
    if state_of.recent:
        lines.append("Last games:")
        lines += [f"• {_result_line(game)}" for game in state_of.recent]
    totals = state_of.since_start
    if totals is not None:
        lines.append(f"Since START: {totals.games} games, {totals.wins} won, P&L "
                     f"{formatting.money(totals.pnl, signed=True)} after fees")
    overall = state_of.all_time
    if overall.games:
        lines.append(f"All time: {overall.games} games, P&L {formatting.money(overall.pnl, signed=True)}")

    rows: list[list[Button]] = []
    if in_play is not None and in_play.state in CLOSABLE_STATES:
        # Also after STOP: a game in play still runs until it ends, and may be ended now.
        rows.append([ctx.button("CLOSE NOW", CLOSE_CODE, pk, in_play.pk, style="danger")])
    if running:
        buy, sell = (ctx.button("BUY GAME", PRESS_CODE, "L", pk, style="primary"),
                     ctx.button("SELL GAME", PRESS_CODE, "S", pk, style="danger"))
        rows.append([buy, sell])
        # Their presses' keys are known now: the engine may sign both games' legs before the tap.
        ahead.panel_shown(subscribed_bot_id=pk, user_id=ctx.user.pk, keys={
            "long": button_press_key(ctx.actor, buy.payload), "short": button_press_key(ctx.actor, sell.payload)})
        rows.append([ctx.button("Refresh", "tt", pk), ctx.button("STOP", "tt-", pk)])
    else:
        rows.append([ctx.button("START", "tt+", pk, style="primary"), ctx.button("Refresh", "tt", pk)])
    rows.append([ctx.button("Settings", "se", pk), ctx.button("Simulate", "tts", pk),
                 ctx.button(f"Run type: {subscribed_bot.get_run_type_display()}", "rt", pk)])
    rows.append([ctx.button("« My bots", "bl"), menu_button(ctx)])
    return Screen(title=f"Ttadak — {subscribed_bot.bot.name}", text="\n".join(lines), rows=rows)


@action("tt", int)
def panel_action(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    from ttadak import host

    current = host.current()
    if current is not None:
        current.call_soon(current.engine.touch, subscribed_bot_id)
    return panel(ctx, subscribed_bot_id)


@command("ttadak", "Ttadak game panel: BUY GAME / SELL GAME", aliases=("game",))
def ttadak_command(ctx: Ctx, arg: str) -> Screen:
    from ttadak.selectors import ttadak_bot_list_for_user

    bots = list(ttadak_bot_list_for_user(user=ctx.user))
    if len(bots) == 1:
        return panel(ctx, bots[0].pk)
    if not bots:
        return Screen(title="Ttadak", text="Ttadak is a manual game bot: BUY GAME or SELL GAME sends an entry and an "
                                           "exit order together at high leverage. Subscribe to it in the catalog "
                                           "first (Manual bots).",
                      rows=[[ctx.button("Funds & bots", "cat")], [menu_button(ctx)]])
    rows = [[ctx.button(bot.bot.name, "tt", bot.pk)] for bot in bots]
    rows.append([menu_button(ctx)])
    return Screen(title="Ttadak", text="Which game panel?", rows=rows)


@bot_card_extra
def bot_card_rows(ctx: Ctx, subscribed_bot: Any) -> list[list[Button]]:
    """My bots → a Ttadak bot's card leads to its game panel (it has no START of the candle runtime)."""
    if subscribed_bot.bot.strategy != "ttadak":
        return []
    return [[ctx.button("GAME PANEL", "tt", subscribed_bot.pk, style="primary")]]


# --- START / STOP ------------------------------------------------------------------------------------------------


@action("tt+", int, mutates=True, max_age=CONTROL_MAX_AGE, refresh=panel_action)
def start_action(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    from ttadak import host
    from ttadak.services.activation import ttadak_start

    ttadak_start(user=ctx.user, subscribed_bot_id=subscribed_bot_id)
    current = host.current()
    if current is None and ctx.actor.surface == "slack":
        current = host.thread_host(surface="slack")  # the Slack app's process plays on an engine thread of its own
    if current is not None:
        current.warm_soon(subscribed_bot_id)  # keys decrypted, markets loaded, leverage set, connections open
    return panel(ctx, subscribed_bot_id, note="Started. The exchange connection is warming up; play when ready.")


@action("tt-", int, mutates=True, max_age=CONTROL_MAX_AGE, refresh=panel_action)
def stop_action(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    from ttadak import host
    from ttadak.services.activation import ttadak_stop

    ttadak_stop(user=ctx.user, subscribed_bot_id=subscribed_bot_id)
    current = host.current()
    if current is not None:
        current.forget_soon(subscribed_bot_id)
    return panel(ctx, subscribed_bot_id, note="Stopped. A game in play still ends by its own rules.")


# --- CLOSE NOW -----------------------------------------------------------------------------------------------------
# Asked first, like the core's other actions that trade at market (STOP and close, cancel an order). The
# payload names the game, so a panel drawn for an older game can never close a newer one.


def _close_refused(ctx: Ctx, subscribed_bot_id: int, error: ApplicationError) -> Reply:
    """The game ended (or began closing) meanwhile: show where it is rather than a bare alert."""
    return Reply(screen=panel(ctx, subscribed_bot_id, note=error.message), edit=True, alert=error.message)


@action(CLOSE_CODE, int, int, max_age=CONTROL_MAX_AGE, refresh=lambda ctx, pk, game_id: panel_action(ctx, pk))
def close_confirm(ctx: Ctx, subscribed_bot_id: int, game_id: int) -> Reply | Screen:
    from ttadak.services.play import game_close_check

    subscribed_bot = _bot(ctx, subscribed_bot_id)
    try:
        game = game_close_check(user=ctx.user, game_id=game_id)
    except Conflict as error:
        return _close_refused(ctx, subscribed_bot.pk, error)
    money = "real money" if game.run_type == "live" else "paper money"
    return Screen(
        title=f"Close {game.get_side_display()} #{game.pk} now?",
        text=f"The exit order is cancelled and the position closed at market ({money}, taker fee). The result "
             "replaces the panel.",
        rows=[[ctx.button("Yes, close now", f"{CLOSE_CODE}!", game.subscribed_bot_id, game.pk, style="danger"),
               ctx.button("No", "tt", game.subscribed_bot_id)]],
    )


@action(f"{CLOSE_CODE}!", int, int, mutates=True, max_age=CONTROL_MAX_AGE,
        refresh=lambda ctx, pk, game_id: panel_action(ctx, pk))
def close_now_action(ctx: Ctx, subscribed_bot_id: int, game_id: int) -> Reply:
    """Ends the game at market (reason manual) on this process's engine and shows the panel with the result.
    In the Telegram process the close runs on the bot's loop and the engine redraws the panel when done."""
    from ttadak.services.play import game_close_now

    subscribed_bot = _bot(ctx, subscribed_bot_id)
    try:
        outcome = game_close_now(user=ctx.user, game_id=game_id,
                                 surface="slack" if ctx.actor.surface == "slack" else "")
    except Conflict as error:
        return _close_refused(ctx, subscribed_bot.pk, error)
    return Reply(screen=panel(ctx, outcome.game.subscribed_bot_id, note=outcome.text), edit=True)


# --- the press ----------------------------------------------------------------------------------------------------


def press_args(raw_args: tuple[str, ...]) -> tuple[str, int]:
    """(side, subscribed bot id) from a `tg` payload's args; ValidationError for junk."""
    if len(raw_args) != 2 or raw_args[0] not in SIDES or not raw_args[1].isdigit() or len(raw_args[1]) > 12:
        raise ValidationError("This button is not valid.")
    return SIDES[raw_args[0]], int(raw_args[1])


def press_key(actor: Actor, signature: str) -> str:
    """One press = one game: the key is the pressed button itself (its signature) for this person."""
    return f"{actor.surface}:{actor.team_id}:{actor.external_user_id}:{signature}"


def button_press_key(actor: Actor, payload: str) -> str:
    """The key a press of the game button with this signed payload carries (the panel signs it ahead)."""
    return press_key(actor, payload.rpartition(payloads.SEPARATOR)[2])


@action(PRESS_CODE, str, int, mutates=True, max_age=PRESS_MAX_AGE, refresh=lambda ctx, side, pk: panel_action(ctx, pk))
def press_action(ctx: Ctx, side_code: str, subscribed_bot_id: int) -> Reply:
    """Sync surfaces (terminal): the press runs on this process's engine thread. The core's tap guard
    already stops a double tap; the key adds the database's word for a retried delivery."""
    import secrets

    from ttadak import host
    from ttadak.services.games import PressTarget

    side = SIDES.get(side_code)
    if side is None:
        raise ValidationError("This button is not valid.")
    target = PressTarget(surface=ctx.actor.surface, external_user_id=ctx.actor.external_user_id,
                         team_id=ctx.actor.team_id, chat_id=ctx.actor.chat_id)
    key = press_key(ctx.actor, secrets.token_hex(6))
    user_id = ctx.user.pk
    result = host.thread_host().run(lambda engine: engine.press(
        user_id=user_id, subscribed_bot_id=subscribed_bot_id, side=side, idempotency_key=key, target=target))
    return Reply(screen=panel(ctx, subscribed_bot_id, note=result.text), edit=True, alert=result.text)


def panel_for_game(game_id: int) -> tuple[Screen, Any] | None:
    """The panel of the bot that played `game_id`, drawn for its owner (the engine redraws it in place when
    the game moves on). Returns (screen, game) or None when the person is gone."""
    from chat import engine as core
    from ttadak.models import Game

    game = Game.objects.select_related("subscribed_bot").filter(pk=game_id).first()
    if game is None or not game.surface:
        return None
    ctx = core.session_open(Actor(surface=game.surface, external_user_id=game.external_user_id,
                                  team_id=game.team_id, chat_id=game.chat_id))
    if ctx.user is None or ctx.user.pk != game.subscribed_bot.user_id:
        return None
    from ttadak.services.games import result_line

    note = ""
    if game.state in ("finished", "failed"):
        note = result_line(game) + (f"\n{game.message}" if game.message else "")
    return panel(ctx, game.subscribed_bot_id, note=note), game


# --- simulation ---------------------------------------------------------------------------------------------------


@action("tts", int)
def simulate_choose(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    subscribed_bot = _bot(ctx, subscribed_bot_id)
    pk = subscribed_bot.pk
    return Screen(
        title=f"{subscribed_bot.bot.name}: does it earn?",
        text=f"Plays a BUY GAME and a SELL GAME every {SIM_EVERY_MINUTES} minutes over past 1-minute candles with "
             "your settings and fee level: win rate, average P&L per game after fees, worst game, and what other "
             "fee levels would have made. Over which range?",
        rows=[[ctx.button(f"Last {days} day{'s' if days > 1 else ''}", "tts!", pk, days) for days in SIM_DAYS],
              [ctx.button("« Game panel", "tt", pk)]],
    )


def _estimate_lines(label: str, estimate: Any) -> list[str]:
    if not estimate.games:
        return [f"{label}: no game fits in the range."]
    reasons = estimate.reasons
    return [
        f"{label}: {estimate.games} games · win rate "
        f"{formatting.percent(estimate.win_rate_pct, signed=False, places=1)}"
        f" · average {formatting.money(estimate.avg_pnl, signed=True, places=4)} "
        f"({formatting.percent(estimate.avg_yield_pct, places=2)} of margin)",
        f"   worst {formatting.money(estimate.worst_pnl, signed=True, places=4)} · best "
        f"{formatting.money(estimate.best_pnl, signed=True, places=4)} · total "
        f"{formatting.money(estimate.total_pnl, signed=True)} · fees {formatting.money(estimate.total_fees)}",
        f"   ended by target {reasons['target']}, stop loss {reasons['stop_loss']}, time limit {reasons['timeout']}",
    ]


@action("tts!", int, int, max_age=CONTROL_MAX_AGE, refresh=lambda ctx, pk, days: simulate_choose(ctx, pk))
def simulate_run(ctx: Ctx, subscribed_bot_id: int, days: int) -> Screen:
    from ttadak.services.simulation import ttadak_simulate

    if days not in SIM_DAYS:
        raise ValidationError("Choose one of the offered ranges.")
    result = ttadak_simulate(user=ctx.user, subscribed_bot_id=subscribed_bot_id, days=days,
                             every_minutes=SIM_EVERY_MINUTES)
    settings = result.settings
    level = settings["fee_level"]
    source = "SYNTHETIC demo data" if result.synthetic else result.exchange
    lines = [
        f"{result.symbol}, {formatting.day(result.start, ctx.tz)} – {formatting.day(result.end, ctx.tz)} ({source}), "
        f"a game every {result.every_minutes} min.",
        _settings_line(settings),
        *_estimate_lines("BUY GAME", result.buy),
        *_estimate_lines("SELL GAME", result.sell),
    ]
    if result.buy.games:
        by_level = {row.fee_level: row for row in result.buy.by_fee_level}
        shown = [name for name in ("VIP0", "VIP3", "VIP6", "VIP9") if name in by_level]
        lines.append("BUY GAME total at other fee levels: " + " · ".join(
            f"{name} {formatting.money(by_level[name].total_pnl, signed=True)}" for name in shown))
        both = result.buy.avg_pnl + result.sell.avg_pnl
        verdict = "earns" if both > 0 else "loses"
        lines.append(f"At your fee level ({level}) these settings {verdict} on average over this range. Past games "
                     "are no promise; candles cannot show moves inside a minute (a bar that reaches both the exit "
                     "and the stop counts as a stop).")
    return Screen(title=f"{result.symbol}: simulated Ttadak games", text="\n".join(lines),
                  rows=[[ctx.button("Other range", "tts", subscribed_bot_id),
                         ctx.button("« Game panel", "tt", subscribed_bot_id)]])


def error_text(error: Exception) -> str:
    """What a fast-path adapter tells the user when a press is refused."""
    if isinstance(error, ApplicationError):
        return error.message
    from chat.engine import OOPS

    return OOPS


def stale_press(issued_at: Any, now: Any) -> bool:
    return now - issued_at > timedelta(seconds=PRESS_MAX_AGE)
