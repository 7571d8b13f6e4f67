"""The simulation run type end to end on the database: start (validation), run, persisted results."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bots.models import BotKind, BotRun, Order, RunStatus, RunType, Trade
from core.errors import NotFound, ValidationError
from marketdata.services import candles_generate
from tests.factories import BotFactory, SubscribedBotFactory, UserFactory
from trading.simulation.selectors import simulation_get_for_user, simulation_result
from trading.simulation.services import simulation_progress, simulation_run, simulation_start

END = datetime(2024, 3, 1, tzinfo=UTC)
START = END - timedelta(days=10)

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(db) -> None:
    candles_generate(symbols=["BTC/USDT"], days=12, end=END)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def bot(market):
    return SubscribedBotFactory(bot=BotFactory(strategy="sma_cross", default_setting={
        "symbol": "BTC/USDT", "timeframe": "1h", "fast": 5, "slow": 20}))


def start(bot, *, execute: bool = False, capture=None, **kwargs):
    kwargs.setdefault("start", START)
    kwargs.setdefault("end", END)
    return simulation_start(user=bot.user, subscribed_bot_id=bot.pk, **kwargs)


def test_start_validates_and_queues_a_simulation_run_enqueued_on_commit(bot, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = start(bot, balance="2500", fee_rate="0.0005", slippage_bps=3, leverage=2)
    assert len(callbacks) == 1
    assert (run.status, run.run_type, run.progress) == (RunStatus.QUEUED, RunType.SIMULATION, 0)
    assert run.parameters["exchange"] == "synthetic" and run.parameters["synthetic"] is True
    assert run.parameters["balance"] == "2500" and run.parameters["fee_rate"] == "0.0005"
    assert run.setting_snapshot["leverage"] == 2 and run.setting_snapshot["fast"] == 5


def test_run_persists_trades_orders_metrics_equity_and_chart(bot, media):
    run = start(bot)
    seen: list[int] = []
    signalled: list[int] = []

    def on_signal(sender, run_id, percent, **kwargs):
        signalled.append(percent)

    simulation_progress.connect(on_signal)
    try:
        simulation_run(run_id=run.pk, progress=seen.append)
    finally:
        simulation_progress.disconnect(on_signal)
    run.refresh_from_db()

    assert run.status == RunStatus.FINISHED and run.progress == 100 and run.error == ""
    assert seen == sorted(seen) and seen[-1] == 100 and signalled == seen
    trades = list(Trade.objects.filter(run=run))
    orders = list(Order.objects.filter(run=run).order_by("pk"))
    assert len(trades) == run.metrics["trades"] > 0
    assert {t.run_type for t in trades} == {RunType.SIMULATION} and all(not t.is_open for t in trades)
    assert all(t.subscribed_bot_id == bot.pk for t in trades)
    assert len(orders) == 2 * len(trades)  # long only, all in: one entry and one exit per trade
    assert [o.client_order_id for o in orders] == [f"sim-{run.pk}-{n}" for n in range(1, len(orders) + 1)]
    assert all(re.fullmatch(r"[A-Za-z0-9._:/-]{1,36}", o.client_order_id) for o in orders)
    assert isinstance(trades[0].realized_pnl, Decimal) and isinstance(orders[0].fee, Decimal)
    fees = sum(o.fee for o in orders)
    assert abs(fees - Decimal(run.metrics["fees_paid"])) < Decimal("0.0001")
    pnl = sum(t.realized_pnl for t in trades)
    assert abs(pnl - Decimal(run.metrics["net_profit"])) < Decimal("0.0001")
    assert {"total_return", "annualised_return", "max_drawdown", "sharpe", "win_rate", "profit_factor",
            "trades", "fees_paid", "exposure_time"} <= set(run.metrics)
    assert run.equity_curve[0][0].startswith("2024-02-20") and Decimal(run.equity_curve[0][1]) == Decimal(10000)
    assert run.chart.name.endswith(".png")
    with run.chart.open("rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    result = simulation_result(run=simulation_get_for_user(user=bot.user, run_id=run.pk))
    assert result["synthetic_data"] is True and result["metrics"] == run.metrics


def test_a_second_run_of_a_finished_simulation_changes_nothing(bot, media):
    run = start(bot)
    simulation_run(run_id=run.pk)
    orders = set(Order.objects.filter(run=run).values_list("client_order_id", flat=True))
    again = simulation_run(run_id=run.pk)
    assert again.status == RunStatus.FINISHED
    assert set(Order.objects.filter(run=run).values_list("client_order_id", flat=True)) == orders


def test_an_interrupted_run_is_redone_without_duplicates(bot, media):
    run = start(bot)
    simulation_run(run_id=run.pk)
    count = Trade.objects.filter(run=run).count()
    BotRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)  # as if the worker died mid-way
    simulation_run(run_id=run.pk)
    assert Trade.objects.filter(run=run).count() == count


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"symbol": "DOGE/USDT"}, "symbol", "no market data for DOGE/USDT"),
        ({"start": END + timedelta(days=5), "end": END + timedelta(days=6)}, "start", "no BTC/USDT candles"),
        ({"start": END, "end": START}, "end", "end must be after start"),
        ({"balance": "-5"}, "balance", "balance must be a positive amount"),
        ({"fee_rate": "0.5"}, "fee_rate", "between 0 and 0.05"),
        ({"leverage": 500}, "leverage", "between 1 and 125"),
        ({"timeframe": "7m"}, "timeframe", "timeframe must be one of"),
        ({"start": START.replace(tzinfo=None)}, "start", "time zone"),
    ],
)
def test_bad_input_is_refused_clearly_and_persists_nothing(bot, kwargs, field, text):
    with pytest.raises(ValidationError) as excinfo:
        start(bot, **kwargs)
    assert excinfo.value.field == field and text in excinfo.value.message
    assert not BotRun.objects.exists()


def test_a_range_above_the_configured_maximum_is_refused(bot, settings):
    settings.SIMULATION_MAX_CANDLES = 100
    with pytest.raises(ValidationError) as excinfo:
        start(bot)
    assert excinfo.value.field == "end" and "the maximum is 100" in excinfo.value.message
    assert not BotRun.objects.exists()


def test_someone_elses_bot_cannot_be_simulated(bot):
    with pytest.raises(NotFound):
        simulation_start(user=UserFactory(), subscribed_bot_id=bot.pk, start=START, end=END)
    assert not BotRun.objects.exists()


def test_a_manual_bot_cannot_be_simulated(market):
    manual = SubscribedBotFactory(bot=BotFactory(kind=BotKind.MANUAL, strategy="ttadak", default_setting={}))
    with pytest.raises(ValidationError):
        start(manual)
    assert not BotRun.objects.exists()


def test_runs_of_other_users_are_not_found(bot, media):
    run = start(bot)
    with pytest.raises(NotFound):
        simulation_get_for_user(user=UserFactory(), run_id=run.pk)
