"""START and STOP of a Ttadak bot.

Ttadak has no tick engine and no Celery phase: START checks everything that needs no exchange and
puts the bot in `running` with a new BotRun (every game's orders point at it); the chat process then
warms the bot's exchange client (ttadak.engine) so a press goes straight to the exchange. What only the
exchange can tell (the market's leverage limit, its minimum order) is checked while warming; a refusal
puts the bot in `error` with the reason. STOP ends the run; a game in play still finishes by its own
rules (target, stop loss, time limit), so no position is left without its exit.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from bots.events import bot_event_record
from bots.models import BotEventKind, BotKind, BotRun, BotState, RunStatus, RunType, SubscribedBot
from bots.runtime.transitions import transition, transition_check
from core.errors import Conflict
from ttadak.selectors import game_totals, ttadak_bot_get_for_user, ttadak_settings_get
from users.models import User
from users.services import user_require_active

PLAYABLE_RUN_TYPES = (RunType.DRY_RUN, RunType.LIVE)


def _locked(user: User, subscribed_bot_id: int) -> SubscribedBot:
    row = ttadak_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    return (SubscribedBot.objects.select_for_update(of=("self",))
            .select_related("bot", "exchange_setting", "fund_subscription", "user").get(pk=row.pk))


def _require_playable(user: User, subscribed_bot: SubscribedBot) -> None:
    from bots.runtime.services import subscription_is_current
    from exchanges.models import KeyValidationStatus

    name = subscribed_bot.bot.name
    if subscribed_bot.status == "pending":
        raise Conflict(f"{name} is waiting for operator approval; it can start once approved.")
    if not subscription_is_current(subscribed_bot):
        raise Conflict(f"Your subscription to {name} is not active. Renew it to play.")
    if subscribed_bot.bot.kind != BotKind.MANUAL:
        raise Conflict(f"{name} is not a manual bot.")
    if subscribed_bot.run_type not in PLAYABLE_RUN_TYPES:
        raise Conflict(f"{name} is set to simulation. Choose dry-run (paper money, live prices) or live-run to "
                       "play; the panel's Simulate estimates past games.", field="run_type")
    if subscribed_bot.run_type != RunType.LIVE:
        return
    key = subscribed_bot.exchange_setting
    if user.live_trading_confirmed_at is None:
        raise Conflict("Live trading uses real money. Confirm that you understand the risks first.",
                       field="live_trading_confirmed_at")
    if key is None:
        raise Conflict("Attach one of your exchange keys to this bot before playing live.",
                       field="exchange_setting_id")
    if key.validation_status != KeyValidationStatus.VALID or key.can_trade_futures is False:
        raise Conflict(f"Exchange key '{key.name}' is not validated for futures trading. Check it again first.",
                       field="exchange_setting_id")


def run_exchange(subscribed_bot: SubscribedBot) -> str:
    from django.conf import settings

    key = subscribed_bot.exchange_setting
    return key.exchange if key is not None and subscribed_bot.run_type == RunType.LIVE else (
        settings.SUPPORTED_EXCHANGES[0])


@transaction.atomic
def ttadak_start(*, user: User, subscribed_bot_id: int) -> SubscribedBot:
    """START: a new run and state `running`. The caller's process warms the exchange client next."""
    user_require_active(user)
    subscribed_bot = _locked(user, subscribed_bot_id)
    transition_check(subscribed_bot, BotState.STARTING)
    _require_playable(user, subscribed_bot)
    settings = ttadak_settings_get(subscribed_bot=subscribed_bot)
    now = timezone.now()
    exchange = run_exchange(subscribed_bot)
    # A run left open by a stop that did not go through Ttadak (e.g. the runtime's subscription sweep).
    for stale in BotRun.objects.filter(subscribed_bot=subscribed_bot, status=RunStatus.RUNNING,
                                       run_type__in=PLAYABLE_RUN_TYPES):
        stale.status, stale.finished_at = RunStatus.FINISHED, now
        stale.save(update_fields=["status", "finished_at", "updated_at"])
    run = BotRun.objects.create(
        subscribed_bot=subscribed_bot, run_type=subscribed_bot.run_type, status=RunStatus.RUNNING,
        parameters={"exchange": exchange, "symbol": settings["symbol"]}, setting_snapshot=settings,
        started_at=now,
    )
    transition(subscribed_bot, BotState.STARTING, now=now)
    transition(subscribed_bot, BotState.RUNNING, now=now)
    bot_event_record(subscribed_bot_id=subscribed_bot.pk, run_id=run.pk, kind=BotEventKind.STARTED,
                     message=f"{subscribed_bot.bot.name} is ready to play ({run.get_run_type_display()}, "
                             f"{settings['symbol']} at {settings['leverage']}x).",
                     data={"run_type": run.run_type})
    return subscribed_bot


def current_run(subscribed_bot_id: int) -> BotRun | None:
    return (BotRun.objects.filter(subscribed_bot_id=subscribed_bot_id, status=RunStatus.RUNNING,
                                  run_type__in=PLAYABLE_RUN_TYPES).order_by("-created_at", "-id").first())


def _finish_run(subscribed_bot: SubscribedBot, *, status: str = RunStatus.FINISHED, error: str = "") -> BotRun | None:
    run = current_run(subscribed_bot.pk)
    if run is None:
        return None
    totals = game_totals(subscribed_bot_id=subscribed_bot.pk, run_id=run.pk)
    run.status, run.finished_at, run.error = status, timezone.now(), error[:500]
    run.metrics = {**run.metrics, "games": totals.games, "wins": totals.wins, "realized_pnl": str(totals.pnl),
                   "fees": str(totals.fees)}
    run.save(update_fields=["status", "finished_at", "error", "metrics", "updated_at"])
    return run


@transaction.atomic
def ttadak_stop(*, user: User, subscribed_bot_id: int) -> SubscribedBot:
    """STOP: no new games; the run ends. A game in play finishes by its own rules."""
    subscribed_bot = _locked(user, subscribed_bot_id)
    transition_check(subscribed_bot, BotState.STOPPING)
    now = timezone.now()
    transition(subscribed_bot, BotState.STOPPING, reason="Stopped by you.", now=now)
    run = _finish_run(subscribed_bot)
    transition(subscribed_bot, BotState.STOPPED, reason="Stopped by you.", now=now)
    bot_event_record(subscribed_bot_id=subscribed_bot.pk, run_id=run.pk if run else None, kind=BotEventKind.STOPPED,
                     message=f"{subscribed_bot.bot.name} stopped. A game in play still ends by its own rules.")
    return subscribed_bot


@transaction.atomic
def ttadak_error_set(*, subscribed_bot_id: int, reason: str) -> SubscribedBot | None:
    """Warming refused (leverage above the market's limit, order below its minimum, key refused …)."""
    subscribed_bot = (SubscribedBot.objects.select_for_update(of=("self",)).select_related("bot")
                      .filter(pk=subscribed_bot_id).first())
    if subscribed_bot is None or subscribed_bot.state not in (BotState.RUNNING, BotState.STARTING):
        return subscribed_bot
    _finish_run(subscribed_bot, status=RunStatus.FAILED, error=reason)
    transition(subscribed_bot, BotState.ERROR, reason=reason)
    bot_event_record(subscribed_bot_id=subscribed_bot.pk, kind=BotEventKind.ERROR,
                     message=f"{subscribed_bot.bot.name} cannot play: {reason}", data={"reason": reason})
    return subscribed_bot


def session_info_load(*, subscribed_bot_id: int) -> dict[str, Any] | None:
    """What the chat process needs to warm a running Ttadak bot (None when it is not running)."""
    subscribed_bot = (SubscribedBot.objects.select_related("bot", "exchange_setting", "user")
                      .filter(pk=subscribed_bot_id, bot__strategy="ttadak", state=BotState.RUNNING).first())
    if subscribed_bot is None:
        return None
    run = current_run(subscribed_bot.pk)
    if run is None:
        return None
    return {
        "subscribed_bot": subscribed_bot,
        "run_id": run.pk,
        "run_type": run.run_type,
        "exchange": run.parameters.get("exchange") or run_exchange(subscribed_bot),
        "settings": ttadak_settings_get(subscribed_bot=subscribed_bot),
        "version": subscribed_bot.updated_at,
    }


def running_ttadak_bot_ids(*, limit: int = 500) -> list[int]:
    return list(SubscribedBot.objects.filter(bot__strategy="ttadak", state=BotState.RUNNING)
                .order_by("-state_changed_at").values_list("pk", flat=True)[:limit])
