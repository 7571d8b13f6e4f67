"""START and STOP of dry-run and live bots: the services chat, API and admin all call.

START and STOP are two-phase. The service checks everything that needs no exchange, moves the bot to
`starting`/`stopping` and commits; a task then does the exchange work (`bot_start_finish`,
`bot_stop_finish`) and moves it on to `running`/`stopped` (or `error` with a reason). The tick engine
only ticks `running` bots, so a bot is never traded while it is half started or half stopped. A sweep
re-sends the finish task for bots stuck in `starting`/`stopping` (a lost task, a dead worker).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bots.events import bot_event_record
from bots.models import (
    BotEventKind,
    BotKind,
    BotRun,
    BotRuntime,
    BotState,
    RunStatus,
    RunType,
    SubscribedBot,
    SubscriptionStatus,
    Trade,
)
from bots.runtime.transitions import transition, transition_check
from bots.selectors import subscribed_bot_effective_settings, subscribed_bot_get_for_user
from core.errors import ApplicationError, Conflict, TemporaryError, ValidationError
from users.models import User
from users.services import user_require_active

logger = logging.getLogger(__name__)

TRADING_RUN_TYPES = (RunType.DRY_RUN, RunType.LIVE)
# A bot in starting/stopping longer than this gets its finish task sent again.
STUCK_AFTER = timedelta(minutes=2)


# --- checks ----------------------------------------------------------------------------------------


def subscription_is_current(subscribed_bot: SubscribedBot, *, now: datetime | None = None) -> bool:
    """Active, not past its end, and (for a fund's bot) the fund subscription is active too."""
    now = now or timezone.now()
    if subscribed_bot.status != SubscriptionStatus.ACTIVE:
        return False
    if subscribed_bot.subscription_end is not None and subscribed_bot.subscription_end <= now:
        return False
    fund_subscription = subscribed_bot.fund_subscription
    return fund_subscription is None or fund_subscription.status == SubscriptionStatus.ACTIVE


def _require_subscription_current(subscribed_bot: SubscribedBot) -> None:
    name = subscribed_bot.bot.name
    if subscribed_bot.status == SubscriptionStatus.PENDING:
        raise Conflict(f"{name} is waiting for operator approval; it can start once approved.")
    if not subscription_is_current(subscribed_bot):
        raise Conflict(f"Your subscription to {name} is not active. Renew it to start the bot.")


def _require_tradable(subscribed_bot: SubscribedBot) -> None:
    name = subscribed_bot.bot.name
    if subscribed_bot.bot.kind == BotKind.MANUAL:
        raise Conflict(f"{name} is played by hand from its own screen; it has no START.")
    if subscribed_bot.run_type not in TRADING_RUN_TYPES:
        raise Conflict(
            f"{name} is set to simulation. Choose dry-run or live-run to start it, or run a simulation instead.",
            field="run_type",
        )


def runtime_settings_validated(subscribed_bot: SubscribedBot) -> dict[str, Any]:
    """The bot's effective settings, validated by its strategy's schema (incl. protections).

    A ValidationError keeps its `field` and says that the settings, not the request, are wrong.
    """
    from trading.strategies.registry import strategy_settings_validate

    effective = subscribed_bot_effective_settings(subscribed_bot=subscribed_bot)
    try:
        return strategy_settings_validate(subscribed_bot.bot.strategy, effective)
    except ValidationError as exc:
        message = f"{subscribed_bot.bot.name} has invalid settings: {exc.message}"
        raise ValidationError(message, field=exc.field) from None


def _require_live_ready(user: User, subscribed_bot: SubscribedBot) -> None:
    from exchanges.models import KeyValidationStatus

    if subscribed_bot.bot.kind == BotKind.INDICATOR:
        raise Conflict(f"{subscribed_bot.bot.name} is an indicator bot: it sends signals and never trades.")
    if user.live_trading_confirmed_at is None:
        raise Conflict(
            "Live trading uses real money. Confirm that you understand the risks first.",
            field="live_trading_confirmed_at",
        )
    key = subscribed_bot.exchange_setting
    if key is None:
        raise Conflict("Attach one of your exchange keys to this bot before going live.", field="exchange_setting_id")
    if key.validation_status != KeyValidationStatus.VALID:
        raise Conflict(
            f"Exchange key '{key.name}' is not validated ({key.get_validation_status_display()}). "
            "Check it again, then start the bot.",
            field="exchange_setting_id",
        )
    if key.can_trade_futures is False or key.can_trade is False:
        raise Conflict(f"Exchange key '{key.name}' is not allowed to trade futures.", field="exchange_setting_id")


def runtime_market(subscribed_bot: SubscribedBot, settings: dict[str, Any]) -> tuple[str, str, str]:
    """(exchange, symbol, timeframe) the bot trades: the attached key's exchange, else the default one."""
    key = subscribed_bot.exchange_setting
    default = settings.get("exchange") or django_settings.SUPPORTED_EXCHANGES[0]
    exchange = key.exchange if key is not None else str(default)
    return exchange, str(settings.get("symbol", "")), str(settings.get("timeframe", ""))


def _locked(user: User, subscribed_bot_id: int) -> SubscribedBot:
    row = subscribed_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    return (
        SubscribedBot.objects.select_for_update(of=("self",))
        .select_related("bot", "exchange_setting", "fund_subscription", "user")
        .get(pk=row.pk)
    )


# --- START -----------------------------------------------------------------------------------------


@transaction.atomic
def bot_start(*, user: User, subscribed_bot_id: int) -> SubscribedBot:
    """START a dry-run or live bot: check, open a BotRun, move to `starting`, finish in a task.

    Raises Conflict when the bot is already running/stopping, the subscription is not active, the bot
    is manual or set to simulation, or (live) the risks are not confirmed or the key is not valid;
    ValidationError when its settings are invalid. Returns the bot in state `starting`.
    """
    user_require_active(user)
    subscribed_bot = _locked(user, subscribed_bot_id)
    transition_check(subscribed_bot, BotState.STARTING)
    _require_subscription_current(subscribed_bot)
    _require_tradable(subscribed_bot)
    settings = runtime_settings_validated(subscribed_bot)
    if subscribed_bot.run_type == RunType.LIVE:
        _require_live_ready(user, subscribed_bot)
    exchange, symbol, timeframe = runtime_market(subscribed_bot, settings)

    now = timezone.now()
    run = BotRun.objects.create(
        subscribed_bot=subscribed_bot,
        run_type=subscribed_bot.run_type,
        status=RunStatus.QUEUED,
        parameters={"exchange": exchange, "symbol": symbol, "timeframe": timeframe},
        setting_snapshot=settings,
    )
    runtime_reset_for_run(subscribed_bot, run, exchange=exchange, symbol=symbol, timeframe=timeframe)
    transition(subscribed_bot, BotState.STARTING, reason="", now=now)
    task_send_on_commit("tasks.bots.bot_start_finish", subscribed_bot.pk)
    return subscribed_bot


def runtime_reset_for_run(
    subscribed_bot: SubscribedBot, run: BotRun, *, exchange: str, symbol: str, timeframe: str
) -> BotRuntime:
    """Fresh runtime state for a new run. A position kept open at the last STOP is taken over."""
    kept = (
        Trade.objects.filter(subscribed_bot=subscribed_bot, run_type=run.run_type, is_open=True, pair=symbol)
        .order_by("-opened_at")
        .first()
    )
    values: dict[str, Any] = {
        "run": run, "exchange": exchange, "symbol": symbol, "timeframe": timeframe,
        "last_candle_at": None, "last_tick_at": None, "strategy_state": {},
        "position_side": kept.side if kept else "", "position_amount": kept.amount if kept else 0,
        "position_entry_price": kept.entry_price if kept else None, "open_trade": kept,
        "starting_equity": 0, "equity": 0, "peak_equity": 0, "realized_pnl": 0, "fees": 0, "trade_count": 0,
        "consecutive_stop_losses": 0, "cooldown_until": None, "day": None, "day_start_equity": 0,
        "paused_until": None, "stop_close_position": None, "failed_ticks": 0, "pending_actions": [],
        "balance": 0, "trade_book": {},
    }
    runtime, _ = BotRuntime.objects.update_or_create(subscribed_bot=subscribed_bot, defaults=values)
    return runtime


def bot_start_finish(*, subscribed_bot_id: int) -> SubscribedBot | None:
    """Second phase of START (task): prepare the account, then `running` — or `error` with the reason.

    Idempotent: does nothing unless the bot is still `starting`. Temporary exchange trouble raises
    TemporaryError so the task retries; anything permanent puts the bot in `error`.
    """
    from trading.runtime.execution import execution_start

    with transaction.atomic():
        subscribed_bot = (
            SubscribedBot.objects.select_for_update(of=("self",))
            .select_related("bot", "exchange_setting", "user")
            .filter(pk=subscribed_bot_id)
            .first()
        )
        if subscribed_bot is None or subscribed_bot.state != BotState.STARTING:
            return subscribed_bot
        runtime = BotRuntime.objects.select_related("run").get(subscribed_bot=subscribed_bot)
        run = runtime.run
        try:
            starting_equity = execution_start(subscribed_bot=subscribed_bot, run=run, runtime=runtime)
        except TemporaryError:
            raise
        except ApplicationError as exc:
            _fail_start(subscribed_bot, run, exc.message)
            return subscribed_bot
        now = timezone.now()
        runtime.starting_equity = runtime.equity = runtime.peak_equity = starting_equity
        runtime.day, runtime.day_start_equity = now.date(), starting_equity
        if runtime.open_trade_id:
            _take_over_kept_position(runtime, run)
        runtime.save()
        run.status, run.started_at = RunStatus.RUNNING, now
        run.parameters = {**run.parameters, "starting_equity": str(starting_equity)}
        run.save(update_fields=["status", "started_at", "parameters", "updated_at"])
        transition(subscribed_bot, BotState.RUNNING, now=now)
        bot_event_record(
            subscribed_bot_id=subscribed_bot.pk,
            run_id=run.pk,
            kind=BotEventKind.STARTED,
            message=f"{subscribed_bot.bot.name} started ({run.get_run_type_display()}, "
            f"{runtime.symbol} {runtime.timeframe}).",
            data={"run_type": run.run_type, "starting_equity": str(starting_equity)},
        )
    return subscribed_bot


def _take_over_kept_position(runtime: BotRuntime, run: BotRun) -> None:
    """The position kept at the last STOP becomes this run's: its running sums start from this run's balance
    (as if its entry fee had been paid from it, so the trade's P&L stays whole), its target is the bot's size."""
    from trading.runtime.book import TradeSums

    trade = runtime.open_trade
    size = float((run.setting_snapshot or {}).get("size_pct", 100)) / 100
    runtime.position_target = size if trade.side == "long" else -size
    runtime.trade_book = TradeSums(
        balance_before=runtime.balance + trade.fee, entry_cost=(trade.entry_price or 0) * trade.amount,
        amount=trade.amount, fees=trade.fee, max_amount=trade.amount,
    ).as_json()


def _fail_start(subscribed_bot: SubscribedBot, run: BotRun, message: str) -> None:
    run.status, run.error, run.finished_at = RunStatus.FAILED, message, timezone.now()
    run.save(update_fields=["status", "error", "finished_at", "updated_at"])
    bot_error_set(subscribed_bot, reason=f"Could not start: {message}")


def bot_error_set(subscribed_bot: SubscribedBot, *, reason: str) -> None:
    """Put a (locked) bot in `error` with a user-facing reason, and tell the user."""
    transition(subscribed_bot, BotState.ERROR, reason=reason)
    runtime_run_id = BotRuntime.objects.filter(subscribed_bot=subscribed_bot).values_list("run_id", flat=True).first()
    bot_event_record(
        subscribed_bot_id=subscribed_bot.pk,
        run_id=runtime_run_id,
        kind=BotEventKind.ERROR,
        message=f"{subscribed_bot.bot.name} stopped with an error: {reason}",
        data={"reason": reason},
    )


# --- STOP ------------------------------------------------------------------------------------------


@transaction.atomic
def bot_stop(*, user: User, subscribed_bot_id: int, close_position: bool | None = None) -> SubscribedBot:
    """STOP a bot: move to `stopping`; a task cancels its open orders and closes or keeps its position.

    `close_position=None` uses the bot's `close_position_on_stop` setting (default: close). Returns
    the bot in state `stopping`. Stopping an already stopped or stopping bot is a Conflict.
    """
    subscribed_bot = _locked(user, subscribed_bot_id)
    transition_check(subscribed_bot, BotState.STOPPING)
    if close_position is None:
        close_position = bool(subscribed_bot_effective_settings(subscribed_bot=subscribed_bot).get(
            "close_position_on_stop", True
        ))
    bot_stop_request(subscribed_bot, reason="Stopped by you.", close_position=close_position)
    return subscribed_bot


def bot_stop_request(subscribed_bot: SubscribedBot, *, reason: str, close_position: bool) -> None:
    """Move a (locked) bot to `stopping` and send the finish task after commit (also used by sweeps)."""
    BotRuntime.objects.filter(subscribed_bot=subscribed_bot).update(stop_close_position=close_position)
    transition(subscribed_bot, BotState.STOPPING, reason=reason)
    task_send_on_commit("tasks.bots.bot_stop_finish", subscribed_bot.pk)


def bot_stop_finish(*, subscribed_bot_id: int) -> SubscribedBot | None:
    """Second phase of STOP (task): cancel open orders, close or keep the position, close the run.

    Idempotent: does nothing unless the bot is `stopping`. The row stays locked while the exchange
    is called, so a redelivered task waits and then finds the bot stopped — a position is never
    closed twice. Temporary trouble raises TemporaryError (retry); permanent puts it in `error`.
    """
    from trading.runtime.execution import execution_stop

    with transaction.atomic():
        subscribed_bot = (
            SubscribedBot.objects.select_for_update(of=("self",))
            .select_related("bot", "exchange_setting", "user")
            .filter(pk=subscribed_bot_id)
            .first()
        )
        if subscribed_bot is None or subscribed_bot.state != BotState.STOPPING:
            return subscribed_bot
        runtime = BotRuntime.objects.select_related("run").filter(subscribed_bot=subscribed_bot).first()
        run = runtime.run if runtime else None
        close = bool(runtime.stop_close_position) if runtime and runtime.stop_close_position is not None else True
        if runtime is not None and run is not None:
            try:
                execution_stop(subscribed_bot=subscribed_bot, run=run, runtime=runtime, close_position=close)
            except TemporaryError:
                raise
            except ApplicationError as exc:
                bot_error_set(subscribed_bot, reason=f"Could not stop cleanly: {exc.message}")
                return subscribed_bot
            runtime.refresh_from_db()
        reason = subscribed_bot.state_reason or "Stopped."
        now = timezone.now()
        if run is not None and run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
            run.status, run.finished_at = RunStatus.FINISHED, now
            if runtime is not None:
                run.metrics = {**run.metrics, **runtime_metrics(runtime)}
            run.save(update_fields=["status", "finished_at", "metrics", "updated_at"])
        transition(subscribed_bot, BotState.STOPPED, reason=reason, now=now)
        kept = runtime is not None and runtime.position_amount and not close
        bot_event_record(
            subscribed_bot_id=subscribed_bot.pk,
            run_id=run.pk if run else None,
            kind=BotEventKind.STOPPED,
            message=f"{subscribed_bot.bot.name} stopped. {reason}"
            + (" Its open position was kept." if kept else ""),
            data={"reason": reason, "position_kept": bool(kept)},
        )
    return subscribed_bot


def runtime_metrics(runtime: BotRuntime) -> dict[str, Any]:
    """Figures of a dry/live run, frozen into BotRun.metrics when it ends."""
    start = runtime.starting_equity
    yield_pct = (runtime.equity - start) / start * 100 if start else 0
    return {
        "starting_equity": str(start),
        "final_equity": str(runtime.equity),
        "realized_pnl": str(runtime.realized_pnl),
        "fees": str(runtime.fees),
        "trade_count": runtime.trade_count,
        "yield_pct": str(round(yield_pct, 4)),
    }


# --- sweeps ----------------------------------------------------------------------------------------


def runtime_stuck_resend(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send the finish task again for bots stuck in `starting`/`stopping` (lost task, dead worker)."""
    now = now or timezone.now()
    stuck = SubscribedBot.objects.filter(
        state__in=(BotState.STARTING, BotState.STOPPING), state_changed_at__lt=now - STUCK_AFTER
    ).values_list("pk", "state")[:limit]
    count = 0
    for pk, state in stuck:
        name = "tasks.bots.bot_start_finish" if state == BotState.STARTING else "tasks.bots.bot_stop_finish"
        task_send_on_commit(name, pk)
        count += 1
    return count


@transaction.atomic
def runtime_subscriptions_enforce(*, now: datetime | None = None, limit: int = 500) -> int:
    """Stop running bots whose subscription ended (cancelled, expired, past its end date)."""
    now = now or timezone.now()
    ended = (
        ~Q(status=SubscriptionStatus.ACTIVE)
        | Q(subscription_end__lte=now)
        | (Q(fund_subscription__isnull=False) & ~Q(fund_subscription__status=SubscriptionStatus.ACTIVE))
    )
    rows = (
        SubscribedBot.objects.select_for_update(of=("self",))
        .select_related("bot")
        .filter(ended, state__in=(BotState.RUNNING, BotState.STARTING, BotState.ERROR))
        .order_by("pk")[:limit]
    )
    count = 0
    for subscribed_bot in rows:
        bot_stop_request(subscribed_bot, reason="Your subscription ended.", close_position=True)
        count += 1
    return count


def task_send_on_commit(task_name: str, *args: Any) -> None:
    """Send a task by name after commit (services do not import the task modules, tasks import services)."""
    from tasks.app import app

    transaction.on_commit(lambda: app.send_task(task_name, args=args))
