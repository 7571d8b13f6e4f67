"""The tick engine: idempotency, protections, settings edits, late candles, orders in flight."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bots.models import (
    BotEvent,
    BotEventKind,
    BotRuntime,
    BotState,
    Order,
    OrderStatus,
    SubscribedBot,
    Trade,
)
from bots.services import subscribed_bot_settings_update
from core.errors import TemporaryError
from marketdata.timeframes import from_ms
from tests.factories import OrderFactory
from tests.trading.runtime.conftest import running_bot, store_candles, tick
from trading.runtime.engine import tick_batch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_candles")]

SETTINGS = {"symbol": "BTC/USDT", "timeframe": "1m", "fast": 5, "slow": 20, "allow_short": True,
            "max_drawdown_pct": 0}
FIRST = 63  # sma_cross warms up on 64 bars


def _runtime(subscribed: SubscribedBot) -> BotRuntime:
    return BotRuntime.objects.get(subscribed_bot=subscribed)


def _until_in_position(candles, subscribed, start: int = FIRST) -> int:  # noqa: ANN001
    index = start
    while not _runtime(subscribed).position_side:
        tick(int(candles.ts[index]), [subscribed.pk])
        index += 1
    return index


def test_first_tick_warms_up_and_records_the_candle() -> None:
    candles = store_candles(count=100)
    subscribed = running_bot(SETTINGS)
    report = tick(int(candles.ts[FIRST]), [subscribed.pk])
    assert (report.ticked, report.skipped) == (1, 0)
    runtime = _runtime(subscribed)
    assert runtime.last_candle_at == from_ms(int(candles.ts[FIRST]))
    assert runtime.strategy_state["last_ts"] == int(candles.ts[FIRST])
    assert len(runtime.strategy_state["closes"]) == 20


def test_a_redelivered_tick_never_trades_twice() -> None:
    candles = store_candles(count=200)
    subscribed = running_bot(SETTINGS)
    index = FIRST
    while not Order.objects.filter(subscribed_bot=subscribed).exists():
        tick(int(candles.ts[index]), [subscribed.pk])
        index += 1
    before = (Order.objects.count(), Trade.objects.count(), BotEvent.objects.count(), _runtime(subscribed).balance)

    again = tick(int(candles.ts[index - 1]), [subscribed.pk])  # the same task delivered a second time

    assert (again.ticked, again.skipped, again.orders) == (0, 1, 0)
    after = (Order.objects.count(), Trade.objects.count(), BotEvent.objects.count(), _runtime(subscribed).balance)
    assert after == before


def test_an_older_candle_after_a_newer_one_is_ignored() -> None:
    candles = store_candles(count=100)
    subscribed = running_bot(SETTINGS)
    tick(int(candles.ts[FIRST + 1]), [subscribed.pk])
    report = tick(int(candles.ts[FIRST]), [subscribed.pk])
    assert report.ticked == 0
    assert _runtime(subscribed).last_candle_at == from_ms(int(candles.ts[FIRST + 1]))


def test_a_bot_behind_by_a_few_candles_catches_up_without_trading_on_old_ones() -> None:
    candles = store_candles(count=120)
    subscribed = running_bot(SETTINGS)
    tick(int(candles.ts[FIRST]), [subscribed.pk])
    tick(int(candles.ts[FIRST + 5]), [subscribed.pk])  # four candles were missed (worker down)
    state = _runtime(subscribed).strategy_state
    assert state["last_ts"] == int(candles.ts[FIRST + 5])
    assert state["closes"][-1] == float(candles.close[FIRST + 5])
    assert state["closes"][-5] == float(candles.close[FIRST + 1])


def test_a_candle_that_is_not_available_yet_makes_the_task_retry_only_those_bots() -> None:
    candles = store_candles(count=100)
    subscribed = running_bot(SETTINGS)
    other = running_bot({**SETTINGS, "symbol": "ETH/USDT"})  # no ETH candles stored
    with pytest.raises(TemporaryError, match="not available yet"):
        tick(int(candles.ts[FIRST]), [subscribed.pk, other.pk])
    assert _runtime(subscribed).last_candle_at is not None
    assert _runtime(other).last_candle_at is None


def test_a_candle_that_has_not_closed_is_refused() -> None:
    candles = store_candles(count=100)
    subscribed = running_bot(SETTINGS)
    with pytest.raises(Exception, match="not closed"):
        tick_batch(timeframe="1m", candle_ms=int(candles.ts[FIRST]), bot_ids=[subscribed.pk],
                   now=from_ms(int(candles.ts[FIRST]) + 30_000))


def test_stopped_bots_are_not_ticked() -> None:
    candles = store_candles(count=100)
    subscribed = running_bot(SETTINGS)
    SubscribedBot.objects.filter(pk=subscribed.pk).update(state=BotState.STOPPING)
    assert tick(int(candles.ts[FIRST]), [subscribed.pk]).ticked == 0


def test_a_bot_with_an_order_in_flight_waits() -> None:
    candles = store_candles(count=100)
    subscribed = running_bot(SETTINGS)
    runtime = _runtime(subscribed)
    OrderFactory(run=runtime.run, subscribed_bot=subscribed, status=OrderStatus.SUBMITTING)
    report = tick(int(candles.ts[FIRST]), [subscribed.pk])
    assert (report.ticked, report.skipped) == (0, 1)


def test_edited_settings_apply_at_the_next_tick_without_a_restart() -> None:
    candles = store_candles(count=300)
    subscribed = running_bot({**SETTINGS, "size_pct": 100})
    subscribed_bot_settings_update(user=subscribed.user, subscribed_bot_id=subscribed.pk, changes={"size_pct": 25})
    _until_in_position(candles, subscribed)
    entry = Order.objects.get(subscribed_bot=subscribed, purpose="entry")
    # A quarter of the 10,000 capital as margin (leverage 1, fee 0.1%).
    assert 2495 < entry.amount * entry.average < 2500
    assert SubscribedBot.objects.get(pk=subscribed.pk).state == BotState.RUNNING


def test_a_new_market_applies_once_the_bot_is_flat() -> None:
    candles = store_candles(count=120)
    store_candles(symbol="ETH/USDT", count=120)
    subscribed = running_bot(SETTINGS)
    tick(int(candles.ts[FIRST]), [subscribed.pk])
    subscribed_bot_settings_update(user=subscribed.user, subscribed_bot_id=subscribed.pk,
                                   changes={"symbol": "ETH/USDT"})
    tick(int(candles.ts[FIRST + 1]), [subscribed.pk])
    runtime = _runtime(subscribed)
    assert runtime.symbol == "ETH/USDT"
    assert BotEvent.objects.filter(kind=BotEventKind.SETTINGS_APPLIED, message__contains="ETH/USDT").exists()


def test_max_drawdown_stops_the_bot_closes_its_position_and_tells_the_user(django_capture_on_commit_callbacks) -> None:
    candles = store_candles(count=300)
    subscribed = running_bot({**SETTINGS, "leverage": 20, "max_drawdown_pct": 2})
    index = FIRST
    with django_capture_on_commit_callbacks() as callbacks:
        while SubscribedBot.objects.get(pk=subscribed.pk).state == BotState.RUNNING and index < 299:
            tick(int(candles.ts[index]), [subscribed.pk])
            index += 1
    subscribed.refresh_from_db()
    assert subscribed.state == BotState.STOPPING
    assert subscribed.state_reason.startswith("Max drawdown reached")
    assert _runtime(subscribed).position_side == ""
    assert Order.objects.filter(subscribed_bot=subscribed, purpose="protection").count() == 1
    assert BotEvent.objects.filter(subscribed_bot=subscribed, kind=BotEventKind.PROTECTION,
                                   message__contains="Max drawdown").exists()
    assert callbacks, "the STOP finish task is sent"


def test_daily_loss_limit_flattens_and_pauses_new_entries() -> None:
    candles = store_candles(count=300)
    subscribed = running_bot({**SETTINGS, "leverage": 20, "daily_loss_limit_pct": 2})
    index = FIRST
    while not BotRuntime.objects.get(subscribed_bot=subscribed).paused_until and index < 299:
        tick(int(candles.ts[index]), [subscribed.pk])
        index += 1
    runtime = _runtime(subscribed)
    assert runtime.paused_until == from_ms(int(candles.ts[0])).replace(hour=0) + timedelta(days=1)
    assert runtime.position_side == ""
    orders_then = Order.objects.filter(subscribed_bot=subscribed).count()
    for later in range(index, min(index + 60, 299)):
        tick(int(candles.ts[later]), [subscribed.pk])
    assert Order.objects.filter(subscribed_bot=subscribed).count() == orders_then
    assert SubscribedBot.objects.get(pk=subscribed.pk).state == BotState.RUNNING


def test_stop_loss_streak_stops_the_bot() -> None:
    candles = store_candles(count=360)
    subscribed = running_bot({**SETTINGS, "stop_loss_pct": 0.05, "stop_after_stop_losses": 2})
    index = FIRST
    while SubscribedBot.objects.get(pk=subscribed.pk).state == BotState.RUNNING and index < 359:
        tick(int(candles.ts[index]), [subscribed.pk])
        index += 1
    subscribed.refresh_from_db()
    assert subscribed.state == BotState.STOPPING
    assert "2 stop-losses in a row" in subscribed.state_reason
    last_two = list(Trade.objects.filter(subscribed_bot=subscribed).order_by("-closed_at")[:2])
    assert [trade.exit_reason for trade in last_two] == ["stop_loss", "stop_loss"]


def test_cooldown_after_a_loss_delays_the_next_entry() -> None:
    candles = store_candles(count=360)
    subscribed = running_bot({**SETTINGS, "allow_short": False, "cooldown_after_loss_minutes": 45})
    index = FIRST
    while not Trade.objects.filter(subscribed_bot=subscribed, is_open=False, realized_pnl__lt=0).exists():
        tick(int(candles.ts[index]), [subscribed.pk])
        index += 1
    loss = Trade.objects.get(subscribed_bot=subscribed, is_open=False, realized_pnl__lt=0)
    runtime = _runtime(subscribed)
    assert runtime.cooldown_until is not None
    for later in range(index, 359):
        tick(int(candles.ts[later]), [subscribed.pk])
    later_entries = Trade.objects.filter(subscribed_bot=subscribed, opened_at__gt=loss.closed_at)
    assert later_entries.exists()
    assert all(trade.opened_at >= loss.closed_at + timedelta(minutes=45) for trade in later_entries)
