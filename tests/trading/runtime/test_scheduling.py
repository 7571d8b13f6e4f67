"""Fan-out of ticks: which bots are due, how they are batched, and the beat entries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bots.models import BotRuntime, BotState, SubscribedBot
from marketdata.timeframes import from_ms
from tasks.app import app
from tests.factories import SubscribedBotFactory
from trading.runtime import scheduling
from trading.runtime.beat import runtime_beat_schedule

pytestmark = pytest.mark.django_db

CANDLE = 1_704_067_200_000


def _runtime(symbol: str = "BTC/USDT", timeframe: str = "1m", state: str = BotState.RUNNING,
             last: int | None = None) -> SubscribedBot:
    subscribed = SubscribedBotFactory(state=state)
    BotRuntime.objects.create(subscribed_bot=subscribed, exchange="binanceusdm", symbol=symbol, timeframe=timeframe,
                              last_candle_at=from_ms(last) if last is not None else None)
    return subscribed


def test_last_closed_candle_is_the_bar_before_the_current_one() -> None:
    now = datetime(2024, 1, 1, 10, 7, 30, tzinfo=UTC)
    assert from_ms(scheduling.last_closed_candle_ms("1m", now)) == datetime(2024, 1, 1, 10, 6, tzinfo=UTC)
    assert from_ms(scheduling.last_closed_candle_ms("5m", now)) == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert from_ms(scheduling.last_closed_candle_ms("1h", now)) == datetime(2024, 1, 1, 9, 0, tzinfo=UTC)


def test_due_bots_are_the_running_ones_on_the_timeframe_not_yet_ticked_grouped_by_market() -> None:
    eth = _runtime("ETH/USDT")
    btc_new = _runtime("BTC/USDT")
    btc_behind = _runtime("BTC/USDT", last=CANDLE - 60_000)
    _runtime("BTC/USDT", last=CANDLE)  # already ticked this candle
    _runtime("BTC/USDT", timeframe="5m")  # another timeframe
    _runtime("BTC/USDT", state=BotState.STOPPED)
    _runtime("BTC/USDT", state=BotState.ERROR)
    assert scheduling.due_bot_ids(timeframe="1m", candle_ms=CANDLE) == [btc_new.pk, btc_behind.pk, eth.pk]


def test_fanout_sends_one_task_per_batch_to_the_queue_it_is_given(monkeypatch, settings) -> None:  # noqa: ANN001
    # Records what would go to the broker; the real broker and worker path is tests/tasks/test_bots.py.
    sent: list[tuple] = []
    monkeypatch.setattr(app, "send_task", lambda name, args, **options: sent.append((name, args, options)))
    settings.RUNTIME_TICK_BATCH_SIZE = 2
    bots = [_runtime() for _ in range(5)]
    assert scheduling.tick_fanout(timeframe="1m", candle_ms=CANDLE, queue="runtime") == 3
    assert [len(args[2]) for _, args, _ in sent] == [2, 2, 1]
    assert {name for name, _, _ in sent} == {"tasks.bots.tick_batch"}
    assert all(args[:2] == ("1m", CANDLE) and options == {"queue": "runtime"} for _, args, options in sent)
    assert sorted(pk for _, args, _ in sent for pk in args[2]) == sorted(bot.pk for bot in bots)


def test_beat_fans_out_each_timeframe_at_its_candle_close() -> None:
    schedule = runtime_beat_schedule()
    assert schedule["bots-tick-1m"]["schedule"].minute == set(range(60))
    assert schedule["bots-tick-15m"]["schedule"].minute == {0, 15, 30, 45}
    assert schedule["bots-tick-4h"]["schedule"].hour == {0, 4, 8, 12, 16, 20}
    assert schedule["bots-tick-1d"]["schedule"].hour == {0}
    assert app.conf.beat_schedule["bots-tick-1h"]["task"] == "tasks.bots.tick_fanout"
    assert "bots-runtime-sweep" in app.conf.beat_schedule
