"""Monitoring and reports: live status of a bot; per-bot, overall and comparison reports per run type."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bots import monitoring
from bots.models import BotRun, BotRuntime, RunStatus, RunType
from core.errors import NotFound, ValidationError
from tests.factories import BotFactory, BotRunFactory, SubscribedBotFactory, TradeFactory, UserFactory
from tests.trading.runtime.conftest import (  # noqa: F401 (fixtures)
    _no_real_exchange,
    redis_candles,
    running_bot,
    store_candles,
    tick,
)

pytestmark = pytest.mark.django_db

SETTINGS = {"symbol": "BTC/USDT", "timeframe": "1m", "fast": 5, "slow": 20, "allow_short": True,
            "max_drawdown_pct": 0}


@pytest.mark.usefixtures("redis_candles")
def test_status_shows_state_position_pnl_fees_and_the_last_tick() -> None:
    candles = store_candles(count=200)
    subscribed = running_bot(SETTINGS)
    index = 63
    while not BotRuntime.objects.get(subscribed_bot=subscribed).position_side:
        tick(int(candles.ts[index]), [subscribed.pk], lag_ms=1500)
        index += 1
    tick(int(candles.ts[index]), [subscribed.pk], lag_ms=1500)

    status = monitoring.bot_status_get(user=subscribed.user, subscribed_bot_id=subscribed.pk,
                                       now=timezone.now())
    runtime = BotRuntime.objects.get(subscribed_bot=subscribed)
    assert (status.state, status.run_type, status.symbol, status.timeframe) == ("running", "dry_run", "BTC/USDT", "1m")
    assert status.position is not None and status.position.side == runtime.position_side
    assert status.position.mark_price == pytest.approx(Decimal(str(candles.close[index])), rel=Decimal("1e-9"))
    assert status.open_orders == []  # paper orders fill at once
    assert status.fees > 0 and status.equity == runtime.equity
    assert status.unrealized_pnl == runtime.equity - runtime.balance
    assert status.yield_pct == ((runtime.equity - runtime.starting_equity) / runtime.starting_equity * 100).quantize(
        Decimal("0.01"))
    assert status.lag_seconds == pytest.approx(1.5)
    assert status.recent_orders and status.recent_trades and status.recent_events


def test_status_of_someone_elses_bot_is_not_found() -> None:
    subscribed = SubscribedBotFactory()
    with pytest.raises(NotFound):
        monitoring.bot_status_get(user=UserFactory(), subscribed_bot_id=subscribed.pk)


def _run(subscribed, run_type: str, pnls: list[str], *, start: str = "1000", days_ago: int = 10,  # noqa: ANN001
         fee: str = "1") -> BotRun:
    started = timezone.now() - timedelta(days=days_ago)
    run = BotRunFactory(subscribed_bot=subscribed, run_type=run_type, status=RunStatus.FINISHED, started_at=started,
                        finished_at=started + timedelta(days=1), parameters={"starting_equity": start})
    for offset, pnl in enumerate(pnls):
        opened = started + timedelta(hours=offset)
        TradeFactory(run=run, is_open=False, realized_pnl=Decimal(pnl), fee=Decimal(fee), opened_at=opened,
                     closed_at=opened + timedelta(minutes=30))
    return run


def test_bot_report_has_yield_accumulated_yield_fees_trades_and_an_equity_series() -> None:
    subscribed = SubscribedBotFactory(run_type=RunType.DRY_RUN)
    _run(subscribed, RunType.DRY_RUN, ["100", "-50"], days_ago=10)  # +5%
    _run(subscribed, RunType.DRY_RUN, ["100"], days_ago=5)  # +10%

    report = monitoring.report_for_bot(user=subscribed.user, subscribed_bot_id=subscribed.pk)

    assert report.run_type == RunType.DRY_RUN and report.run_count == 2
    assert report.current.yield_pct == Decimal("10.00")
    assert report.accumulated_yield_pct == Decimal("15.50")  # 1.05 × 1.10 − 1
    assert (report.total_pnl, report.fees, report.trade_count) == (Decimal("150"), Decimal("3"), 3)
    assert [equity for _, equity in report.equity_series] == [Decimal("1000"), Decimal("1100"), Decimal("1100")]
    assert len(report.recent_trades) == 3


def test_reports_never_mix_simulation_dry_run_and_live_figures() -> None:
    subscribed = SubscribedBotFactory(run_type=RunType.LIVE)
    _run(subscribed, RunType.SIMULATION, ["500"])
    _run(subscribed, RunType.DRY_RUN, ["-20"])
    _run(subscribed, RunType.LIVE, ["7"])

    live = monitoring.report_for_bot(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    assert (live.run_type, live.total_pnl, live.trade_count) == (RunType.LIVE, Decimal("7"), 1)
    assert all(trade.run_type == RunType.LIVE for trade in live.recent_trades)
    simulated = monitoring.report_for_bot(user=subscribed.user, subscribed_bot_id=subscribed.pk,
                                          run_type=RunType.SIMULATION)
    assert simulated.total_pnl == Decimal("500")

    overall = monitoring.report_overall(user=subscribed.user)
    assert {kind: report.pnl for kind, report in overall.items()} == {
        RunType.SIMULATION: Decimal("500"), RunType.DRY_RUN: Decimal("-20"), RunType.LIVE: Decimal("7"),
    }


def test_overall_report_adds_up_the_users_bots_of_one_run_type() -> None:
    user = UserFactory()
    first = SubscribedBotFactory(user=user, bot=BotFactory())
    second = SubscribedBotFactory(user=user, bot=BotFactory())
    _run(first, RunType.DRY_RUN, ["100"], start="1000")
    _run(second, RunType.DRY_RUN, ["-30", "10"], start="3000", days_ago=8)
    _run(SubscribedBotFactory(), RunType.DRY_RUN, ["999"])  # someone else's

    report = monitoring.report_overall(user=user)[RunType.DRY_RUN]
    assert (report.bot_count, report.starting_equity, report.pnl) == (2, Decimal("4000"), Decimal("80"))
    assert report.yield_pct == Decimal("2.00")
    assert (report.fees, report.trade_count) == (Decimal("3"), 3)
    assert report.equity_series[0][1] == Decimal("4000") and report.equity_series[-1][1] == Decimal("4080")


def test_compare_ranks_the_users_bots_by_yield_within_each_run_type() -> None:
    user = UserFactory()
    weak = SubscribedBotFactory(user=user, bot=BotFactory(name="Weak"))
    strong = SubscribedBotFactory(user=user, bot=BotFactory(name="Strong"))
    _run(weak, RunType.DRY_RUN, ["-10", "5"])
    _run(strong, RunType.DRY_RUN, ["50", "-20", "30"])
    _run(weak, RunType.SIMULATION, ["900"])

    tables = monitoring.report_compare(user=user)
    assert [row.name for row in tables[RunType.DRY_RUN]] == ["Strong", "Weak"]
    strong_row = tables[RunType.DRY_RUN][0]
    assert (strong_row.yield_pct, strong_row.trade_count) == (Decimal("6.00"), 3)
    assert strong_row.win_rate_pct == Decimal("66.67")
    assert strong_row.max_drawdown_pct == Decimal("1.90")  # 1050 → 1030
    assert [row.name for row in tables[RunType.SIMULATION]] == ["Weak"]
    assert list(monitoring.report_compare(user=user, run_type=RunType.LIVE)) == []
    with pytest.raises(ValidationError):
        monitoring.report_compare(user=user, run_type="paper")
