"""START / STOP services and the bot state machine (dry-run; live checks without an exchange)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bots.models import (
    BotEvent,
    BotEventKind,
    BotKind,
    BotRun,
    BotRuntime,
    BotState,
    Order,
    RunStatus,
    RunType,
    SubscribedBot,
    SubscriptionStatus,
    Trade,
)
from bots.runtime import bot_start, bot_stop
from bots.runtime.services import (
    bot_start_finish,
    bot_stop_finish,
    runtime_stuck_resend,
    runtime_subscriptions_enforce,
)
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from exchanges.models import ExchangeSetting, KeyValidationStatus
from tests.factories import BotFactory, FundSubscriptionFactory, SubscribedBotFactory, UserFactory
from tests.trading.runtime.conftest import (  # noqa: F401 (fixtures)
    _no_real_exchange,
    redis_candles,
    running_bot,
    store_candles,
    tick,
)
from users.models import UserStatus

pytestmark = pytest.mark.django_db

SETTINGS = {"symbol": "BTC/USDT", "timeframe": "1m", "fast": 5, "slow": 20, "max_drawdown_pct": 0}


def _subscribed(**overrides) -> SubscribedBot:  # noqa: ANN003
    bot = overrides.pop("bot", None) or BotFactory(default_setting=dict(SETTINGS))
    return SubscribedBotFactory(bot=bot, run_type=overrides.pop("run_type", RunType.DRY_RUN), **overrides)


def _key(user, status: str = KeyValidationStatus.VALID) -> ExchangeSetting:  # noqa: ANN001
    return ExchangeSetting.objects.create(
        user=user, name="main", exchange="binanceusdm", api_key_encrypted="x", api_secret_encrypted="y",
        api_key_hint="abcd…wxyz", validation_status=status,
    )


def test_start_moves_a_stopped_dry_run_bot_to_starting_and_opens_a_run(django_capture_on_commit_callbacks) -> None:
    subscribed = _subscribed()
    with django_capture_on_commit_callbacks() as callbacks:
        row = bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    assert row.state == BotState.STARTING and row.state_changed_at is not None
    run = BotRun.objects.get(subscribed_bot=subscribed)
    assert (run.run_type, run.status) == (RunType.DRY_RUN, RunStatus.QUEUED)
    assert run.setting_snapshot["fast"] == 5 and run.parameters["symbol"] == "BTC/USDT"
    runtime = BotRuntime.objects.get(subscribed_bot=subscribed)
    assert (runtime.run_id, runtime.timeframe, runtime.exchange) == (run.pk, "1m", "binanceusdm")
    assert len(callbacks) == 1  # the second phase is sent to a worker only after commit


def test_start_finish_makes_the_bot_running_with_its_paper_capital_and_tells_the_user() -> None:
    subscribed = _subscribed(bot=BotFactory(default_setting={**SETTINGS, "capital": 2500}))
    bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    bot_start_finish(subscribed_bot_id=subscribed.pk)
    subscribed.refresh_from_db()
    assert subscribed.state == BotState.RUNNING
    runtime = BotRuntime.objects.get(subscribed_bot=subscribed)
    assert runtime.starting_equity == runtime.balance == runtime.equity == Decimal("2500")
    assert BotRun.objects.get(pk=runtime.run_id).status == RunStatus.RUNNING
    event = BotEvent.objects.get(subscribed_bot=subscribed)
    assert event.kind == BotEventKind.STARTED and "started" in event.message


def test_start_finish_is_idempotent() -> None:
    subscribed = running_bot(SETTINGS)
    bot_start_finish(subscribed_bot_id=subscribed.pk)
    assert BotEvent.objects.filter(subscribed_bot=subscribed, kind=BotEventKind.STARTED).count() == 1


def test_starting_a_running_bot_is_a_conflict() -> None:
    subscribed = running_bot(SETTINGS)
    with pytest.raises(Conflict, match="already running"):
        bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    assert BotRun.objects.filter(subscribed_bot=subscribed).count() == 1


def test_stopping_a_stopped_bot_is_a_conflict() -> None:
    subscribed = _subscribed()
    with pytest.raises(Conflict, match="already stopped"):
        bot_stop(user=subscribed.user, subscribed_bot_id=subscribed.pk)


def test_someone_elses_bot_cannot_be_started_or_stopped() -> None:
    subscribed = _subscribed()
    stranger = UserFactory()
    with pytest.raises(NotFound):
        bot_start(user=stranger, subscribed_bot_id=subscribed.pk)
    with pytest.raises(NotFound):
        bot_stop(user=stranger, subscribed_bot_id=subscribed.pk)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": SubscriptionStatus.PENDING}, "waiting for operator approval"),
        ({"status": SubscriptionStatus.CANCELLED}, "not active"),
        ({"subscription_end": timezone.now() - timedelta(days=1)}, "not active"),
        ({"run_type": RunType.SIMULATION}, "set to simulation"),
    ],
)
def test_start_refuses_an_inactive_subscription_or_a_simulation_bot(change: dict, message: str) -> None:
    subscribed = _subscribed(**change)
    with pytest.raises(Conflict, match=message):
        bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    assert SubscribedBot.objects.get(pk=subscribed.pk).state == BotState.STOPPED


def test_start_refuses_a_bot_of_a_cancelled_fund_subscription() -> None:
    fund_subscription = FundSubscriptionFactory(status=SubscriptionStatus.CANCELLED)
    subscribed = _subscribed(user=fund_subscription.user, fund_subscription=fund_subscription)
    with pytest.raises(Conflict, match="not active"):
        bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)


def test_start_refuses_a_manual_bot() -> None:
    subscribed = _subscribed(bot=BotFactory(kind=BotKind.MANUAL, default_setting=dict(SETTINGS)))
    with pytest.raises(Conflict, match="played by hand"):
        bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)


def test_start_refuses_invalid_settings_naming_the_field() -> None:
    subscribed = _subscribed(user_bot_setting={"fast": 50, "slow": 20})
    with pytest.raises(ValidationError) as info:
        bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    assert info.value.field == "fast" and "invalid settings" in info.value.message
    assert not BotRun.objects.exists()


def test_blocked_user_cannot_start() -> None:
    subscribed = _subscribed(user=UserFactory(status=UserStatus.BLOCKED))
    with pytest.raises(PermissionDenied):
        bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)


def test_live_start_needs_the_users_confirmation_and_a_valid_key() -> None:
    user = UserFactory()
    subscribed = _subscribed(user=user, run_type=RunType.LIVE)
    with pytest.raises(Conflict, match="Confirm that you understand the risks"):
        bot_start(user=user, subscribed_bot_id=subscribed.pk)
    user.live_trading_confirmed_at = timezone.now()
    user.save()
    with pytest.raises(Conflict, match="Attach one of your exchange keys"):
        bot_start(user=user, subscribed_bot_id=subscribed.pk)
    subscribed.exchange_setting = _key(user, status=KeyValidationStatus.INVALID)
    subscribed.save()
    with pytest.raises(Conflict, match="not validated"):
        bot_start(user=user, subscribed_bot_id=subscribed.pk)
    assert not BotRun.objects.exists()


@pytest.mark.usefixtures("redis_candles")
def test_stop_closes_the_paper_position_by_default_and_finishes_the_run() -> None:
    candles = store_candles(count=200)
    subscribed = running_bot({**SETTINGS, "allow_short": True})
    index = 63
    while not BotRuntime.objects.get(subscribed_bot=subscribed).position_side:
        tick(int(candles.ts[index]), [subscribed.pk])
        index += 1
    bot_stop(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    assert SubscribedBot.objects.get(pk=subscribed.pk).state == BotState.STOPPING
    bot_stop_finish(subscribed_bot_id=subscribed.pk)

    subscribed.refresh_from_db()
    assert (subscribed.state, subscribed.state_reason) == (BotState.STOPPED, "Stopped by you.")
    runtime = BotRuntime.objects.get(subscribed_bot=subscribed)
    assert runtime.position_side == "" and runtime.open_trade is None
    assert not Trade.objects.filter(subscribed_bot=subscribed, is_open=True).exists()
    assert Order.objects.filter(subscribed_bot=subscribed, purpose="stop").count() == 1
    run = BotRun.objects.get(pk=runtime.run_id)
    assert run.status == RunStatus.FINISHED and run.metrics["trade_count"] == runtime.trade_count
    assert BotEvent.objects.filter(subscribed_bot=subscribed, kind=BotEventKind.STOPPED).exists()


@pytest.mark.usefixtures("redis_candles")
def test_stop_can_keep_the_position_and_the_next_start_takes_it_over() -> None:
    candles = store_candles(count=200)
    subscribed = running_bot({**SETTINGS, "allow_short": True})
    index = 63
    while not BotRuntime.objects.get(subscribed_bot=subscribed).position_side:
        tick(int(candles.ts[index]), [subscribed.pk])
        index += 1
    open_trade = Trade.objects.get(subscribed_bot=subscribed, is_open=True)
    bot_stop(user=subscribed.user, subscribed_bot_id=subscribed.pk, close_position=False)
    bot_stop_finish(subscribed_bot_id=subscribed.pk)
    assert Trade.objects.get(pk=open_trade.pk).is_open
    assert "position was kept" in BotEvent.objects.filter(kind=BotEventKind.STOPPED).get().message

    bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    bot_start_finish(subscribed_bot_id=subscribed.pk)
    runtime = BotRuntime.objects.get(subscribed_bot=subscribed)
    assert runtime.open_trade_id == open_trade.pk and runtime.position_side == open_trade.side
    assert runtime.position_target == (1.0 if open_trade.side == "long" else -1.0)
    # The new run manages it: its STOP closes the trade, whose P&L includes the entry fee of the first run.
    bot_stop(user=subscribed.user, subscribed_bot_id=subscribed.pk, close_position=True)
    BotRuntime.objects.filter(pk=runtime.pk).update(equity=runtime.balance)  # marked at the entry price
    bot_stop_finish(subscribed_bot_id=subscribed.pk)
    closed = Trade.objects.get(pk=open_trade.pk)
    assert not closed.is_open and closed.exit_price == closed.entry_price
    assert closed.realized_pnl == -closed.fee  # no price move: the two fees are the loss


def test_stop_finish_is_idempotent() -> None:
    subscribed = running_bot(SETTINGS)
    bot_stop(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    bot_stop_finish(subscribed_bot_id=subscribed.pk)
    bot_stop_finish(subscribed_bot_id=subscribed.pk)
    assert BotEvent.objects.filter(subscribed_bot=subscribed, kind=BotEventKind.STOPPED).count() == 1


def test_an_errored_bot_can_be_started_again() -> None:
    subscribed = running_bot(SETTINGS)
    SubscribedBot.objects.filter(pk=subscribed.pk).update(state=BotState.ERROR, state_reason="boom")
    row = bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    assert row.state == BotState.STARTING
    assert BotRun.objects.filter(subscribed_bot=subscribed).count() == 2


def test_stuck_starting_and_stopping_bots_get_their_finish_task_again(django_capture_on_commit_callbacks) -> None:
    starting = _subscribed(state=BotState.STARTING, state_changed_at=timezone.now() - timedelta(minutes=5))
    _subscribed(state=BotState.STOPPING, state_changed_at=timezone.now())  # just now: not stuck
    with django_capture_on_commit_callbacks() as callbacks:
        assert runtime_stuck_resend() == 1
    assert len(callbacks) == 1
    assert starting.pk


def test_running_bots_whose_subscription_ended_are_stopped() -> None:
    running = running_bot(SETTINGS)
    SubscribedBot.objects.filter(pk=running.pk).update(status=SubscriptionStatus.EXPIRED)
    still_fine = running_bot(SETTINGS)
    assert runtime_subscriptions_enforce() == 1
    running.refresh_from_db()
    assert (running.state, running.state_reason) == (BotState.STOPPING, "Your subscription ended.")
    assert SubscribedBot.objects.get(pk=still_fine.pk).state == BotState.RUNNING
