"""Catalog figures: subscribers, the pooled track record (live and dry-run apart, simulations never in it,
withheld below a few accounts) and the reference simulation operators publish."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bots.models import BotRun, RunStatus, RunType, SubscriptionStatus
from bots.selectors import (
    TRACK_RECORD_MIN_ACCOUNTS,
    bot_catalog_list,
    bot_get_listed,
    bot_track_record,
    bot_track_records,
)
from bots.services import bot_run_publish_reference
from core.errors import Conflict, NotFound
from tests.factories import (
    BotFactory,
    BotRunFactory,
    FundSubscriptionFactory,
    StaffFactory,
    SubscribedBotFactory,
    TradeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def instance(bot, run_type: str = RunType.DRY_RUN, *, capital: str = "1000", pnls: tuple = (), user=None,
             started_days_ago: int = 20, finished_days_ago: int | None = None, closed_days_ago: int = 1,
             status: str = RunStatus.RUNNING):
    """One subscriber's instance of `bot` with one run and closed trades of the given realised P&Ls."""
    now = timezone.now()
    # A user's further instances of one bot come through funds (one stand-alone instance per user and bot).
    fund_subscription = FundSubscriptionFactory(user=user) if user is not None else None
    subscribed = SubscribedBotFactory(bot=bot, user=user or UserFactory(), run_type=run_type,
                                      fund_subscription=fund_subscription)
    run = BotRunFactory(
        subscribed_bot=subscribed, run_type=run_type, status=status,
        started_at=now - timedelta(days=started_days_ago),
        finished_at=now - timedelta(days=finished_days_ago) if finished_days_ago is not None else None,
        parameters={"starting_equity": capital, "symbol": "BTC/USDT"},
    )
    for pnl in pnls:
        TradeFactory(run=run, is_open=False, realized_pnl=Decimal(pnl), fee=Decimal("0.5"),
                     closed_at=now - timedelta(days=closed_days_ago))
    return run


def simulation(bot, *, total_return_pct: float = 12.5, max_drawdown_pct: float = 4.25, trades: int = 20,
               synthetic: bool = True, finished_days_ago: int = 2, status: str = RunStatus.FINISHED) -> BotRun:
    return BotRunFactory(
        subscribed_bot=SubscribedBotFactory(bot=bot), run_type=RunType.SIMULATION, status=status,
        finished_at=timezone.now() - timedelta(days=finished_days_ago),
        metrics={"total_return_pct": total_return_pct, "max_drawdown_pct": max_drawdown_pct, "trades": trades,
                 "fees_paid": "3.2"} if status == RunStatus.FINISHED else {},
        parameters={"start": "2024-01-01T00:00:00+00:00", "end": "2024-03-01T00:00:00+00:00", "synthetic": synthetic},
    )


# --- subscribers ------------------------------------------------------------------------------------------------


def test_subscribers_are_accounts_with_an_active_instance_counted_once() -> None:
    bot = BotFactory()
    twice = UserFactory()
    SubscribedBotFactory(bot=bot, user=twice)
    SubscribedBotFactory(bot=bot, user=twice, fund_subscription=FundSubscriptionFactory(user=twice))  # still one
    SubscribedBotFactory(bot=bot)
    SubscribedBotFactory(bot=bot, status=SubscriptionStatus.CANCELLED)
    SubscribedBotFactory(bot=bot, status=SubscriptionStatus.PENDING)
    assert bot_get_listed(bot_id=bot.pk).subscriber_count == 2
    assert [row.subscriber_count for row in bot_catalog_list() if row.pk == bot.pk] == [2]


# --- track record -----------------------------------------------------------------------------------------------


def test_dry_run_return_pools_every_subscribers_realised_pnl_over_their_starting_capital() -> None:
    bot = BotFactory()
    instance(bot, pnls=("10", "-5"))
    instance(bot, pnls=("20",))
    instance(bot, capital="2000")  # ran, did not trade: it earned nothing, and it counts
    record = bot_track_record(bot_id=bot.pk)
    # (10 - 5 + 20) / (1000 + 1000 + 2000) = 0.625 %
    assert record["dry_run"] == {"return_pct": Decimal("0.63"), "bot_count": 3, "trade_count": 3, "withheld": False}
    assert record["live"] == {"return_pct": None, "bot_count": 0, "trade_count": None, "withheld": False}
    assert (record["return_pct"], record["return_run_type"]) == (Decimal("0.63"), "dry_run")
    assert record["period"] == "the last 30 days" and record["period_days"] == 30


def test_live_and_dry_run_are_reported_apart_and_live_is_the_headline() -> None:
    bot = BotFactory()
    for _ in range(3):
        instance(bot, RunType.LIVE, pnls=("20",))
        instance(bot, RunType.DRY_RUN, pnls=("-10",))
    record = bot_track_record(bot_id=bot.pk)
    assert record["live"]["return_pct"] == Decimal("2.00") and record["live"]["bot_count"] == 3
    assert record["dry_run"]["return_pct"] == Decimal("-1.00") and record["dry_run"]["bot_count"] == 3
    assert (record["return_pct"], record["return_run_type"]) == (Decimal("2.00"), "live")


def test_simulations_never_count_as_track_record() -> None:
    bot = BotFactory()
    for _ in range(3):
        run = instance(bot, RunType.SIMULATION, pnls=("500",), status=RunStatus.FINISHED, finished_days_ago=1)
        BotRun.objects.filter(pk=run.pk).update(metrics={"total_return_pct": 50.0})
        bot_run_publish_reference(run_id=run.pk)  # even published ones
    record = bot_track_record(bot_id=bot.pk)
    assert record["live"]["bot_count"] == record["dry_run"]["bot_count"] == 0
    assert record["return_pct"] is None and record["return_run_type"] is None


def test_only_trades_closed_and_runs_active_within_the_period_count() -> None:
    bot = BotFactory()
    instance(bot, pnls=("10",))
    instance(bot, pnls=("30",))
    instance(bot, pnls=("999",), closed_days_ago=31)  # old trade: its run still counts (capital), not the P&L
    instance(bot, pnls=("999",), started_days_ago=60, finished_days_ago=40, status=RunStatus.FINISHED,
             closed_days_ago=45)  # a run over before the period: not at all
    instance(bot, status=RunStatus.QUEUED, started_days_ago=1)  # never started trading
    record = bot_track_record(bot_id=bot.pk)
    assert record["dry_run"] == {"return_pct": Decimal("1.33"), "bot_count": 3, "trade_count": 2, "withheld": False}


def test_a_figure_from_too_few_accounts_is_withheld() -> None:
    bot = BotFactory()
    owner = UserFactory()
    for _ in range(TRACK_RECORD_MIN_ACCOUNTS):
        instance(bot, pnls=("50",), user=owner)  # several bots, but one person's money
    instance(bot, pnls=("-20",))
    record = bot_track_record(bot_id=bot.pk)
    assert record["dry_run"] == {"return_pct": None, "bot_count": TRACK_RECORD_MIN_ACCOUNTS + 1,
                                 "trade_count": None, "withheld": True}
    assert record["return_pct"] is None


def test_a_bot_without_data_says_so() -> None:
    record = bot_track_record(bot_id=BotFactory().pk)
    assert record["return_pct"] is None and record["simulation"] is None
    assert not record["live"]["withheld"] and not record["dry_run"]["withheld"]
    with pytest.raises(NotFound):
        bot_track_record(bot_id="junk")


def test_track_records_of_many_bots_take_three_queries(django_assert_num_queries) -> None:
    bots = [BotFactory() for _ in range(6)]
    for bot in bots:
        instance(bot, RunType.LIVE, pnls=("5",))
        instance(bot, pnls=("1", "2"))
        bot_run_publish_reference(run_id=simulation(bot).pk)
    with django_assert_num_queries(3):
        one = bot_track_records(bot_ids=[bots[0].pk])
    with django_assert_num_queries(3):
        many = bot_track_records(bot_ids=[bot.pk for bot in bots])
    assert many[bots[0].pk]["simulation"] == one[bots[0].pk]["simulation"]


# --- the reference simulation -----------------------------------------------------------------------------------


def test_the_latest_published_finished_simulation_is_the_bots_simulation_result() -> None:
    bot = BotFactory()
    older = simulation(bot, total_return_pct=3.0, finished_days_ago=9)
    newer = simulation(bot, total_return_pct=12.5, max_drawdown_pct=4.25, trades=20)
    simulation(bot, total_return_pct=99.0, finished_days_ago=0)  # not published: never shown
    bot_run_publish_reference(run_id=older.pk)
    bot_run_publish_reference(run_id=newer.pk)
    record = bot_track_record(bot_id=bot.pk)
    assert record["simulation"] == {
        "return_pct": Decimal("12.50"), "max_drawdown_pct": Decimal("4.25"), "trades": 20,
        "start": "2024-01-01", "end": "2024-03-01", "synthetic": True,
        "published_run_finished_at": newer.finished_at,
    }
    assert record["simulation_return_pct"] == Decimal("12.50")
    assert record["simulation_max_drawdown_pct"] == Decimal("4.25")
    bot_run_publish_reference(run_id=newer.pk, published=False)
    assert bot_track_record(bot_id=bot.pk)["simulation_return_pct"] == Decimal("3.00")


def test_only_finished_simulations_can_be_published() -> None:
    bot = BotFactory()
    dry_run = instance(bot, RunType.DRY_RUN)
    running = simulation(bot, status=RunStatus.RUNNING)
    for run, reason in ((dry_run, "only simulations"), (running, "only finished")):
        with pytest.raises(Conflict, match=reason):
            bot_run_publish_reference(run_id=run.pk)
        assert BotRun.objects.get(pk=run.pk).is_reference is False
    with pytest.raises(NotFound):
        bot_run_publish_reference(run_id=10**9)
    finished = simulation(bot)
    assert bot_run_publish_reference(run_id=finished.pk).is_reference is True
    assert bot_run_publish_reference(run_id=finished.pk).is_reference is True  # twice is harmless


def test_operators_publish_and_withdraw_references_from_the_admin() -> None:
    bot = BotFactory()
    good, refused = simulation(bot), instance(bot, RunType.LIVE)
    client = Client()
    client.force_login(StaffFactory())
    url = reverse("admin:bots_botrun_changelist")
    response = client.post(url, {"action": "action_publish_as_the_bot_s_reference_simulation",
                                 "_selected_action": [str(good.pk), str(refused.pk)]}, follow=True)
    page = response.content.decode()
    assert "1 done" in page and "only simulations can be published" in page
    assert BotRun.objects.get(pk=good.pk).is_reference and not BotRun.objects.get(pk=refused.pk).is_reference
    client.post(url, {"action": "action_withdraw_as_reference_simulation", "_selected_action": [str(good.pk)]})
    assert not BotRun.objects.get(pk=good.pk).is_reference
