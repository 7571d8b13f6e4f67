"""A fund's catalog figures: its bots' track records and reference simulations, weight-averaged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bots.models import RunType
from bots.services import bot_run_publish_reference
from funds.selectors import fund_list_open, fund_track_record, funds_track_record_attach
from tests.bots.test_track_record import instance, simulation
from tests.factories import BotFactory, FundBotFactory, FundFactory

pytestmark = pytest.mark.django_db


def _fund_of(*weights: str):
    fund = FundFactory()
    bots = [FundBotFactory(fund=fund, bot=BotFactory(), weight=Decimal(weight)).bot for weight in weights]
    return fund, bots


def test_live_return_is_weighted_over_the_bots_that_have_one() -> None:
    fund, (first, second, quiet) = _fund_of("0.75", "0.25", "0.5")
    for _ in range(3):
        instance(first, RunType.LIVE, pnls=("20",))  # +2 %
        instance(second, RunType.LIVE, pnls=("-20",))  # −2 %
    record = fund_track_record(fund_id=fund.pk)
    # (0.75 × 2 + 0.25 × −2) / (0.75 + 0.25); the bot without figures is left out, not counted as zero.
    assert record["live"] == {"return_pct": Decimal("1.00"), "bot_count": 6, "trade_count": 6, "withheld": False,
                              "fund_bots_covered": 2}
    assert record["fund_bot_count"] == 3
    assert record["dry_run"]["return_pct"] is None and record["dry_run"]["fund_bots_covered"] == 0
    assert (record["return_pct"], record["return_run_type"]) == (Decimal("1.00"), "live")


def test_a_fund_whose_only_figures_are_withheld_says_so() -> None:
    fund, (bot, _) = _fund_of("0.5", "0.5")
    instance(bot, pnls=("10",))
    record = fund_track_record(fund_id=fund.pk)
    assert record["dry_run"]["withheld"] is True and record["dry_run"]["return_pct"] is None
    assert record["return_pct"] is None and record["simulation"] is None


def test_reference_simulations_are_weighted_and_labelled() -> None:
    fund, (first, second) = _fund_of("0.75", "0.25")
    bot_run_publish_reference(run_id=simulation(first, total_return_pct=10, max_drawdown_pct=5, trades=4).pk)
    bot_run_publish_reference(run_id=simulation(second, total_return_pct=20, max_drawdown_pct=10, trades=6,
                                                synthetic=False).pk)
    record = fund_track_record(fund_id=fund.pk)
    assert record["simulation"] == {
        "return_pct": Decimal("12.50"), "max_drawdown_pct": Decimal("6.25"), "trades": 10, "start": "2024-01-01",
        "end": "2024-03-01", "synthetic": True, "fund_bots_covered": 2,
    }
    assert record["simulation_return_pct"] == Decimal("12.50")


def test_the_fund_list_gets_its_figures_in_a_fixed_number_of_queries(django_assert_num_queries) -> None:
    for _ in range(4):
        fund, bots = _fund_of("0.5", "0.5")
        instance(bots[0], pnls=("1",))
    with django_assert_num_queries(5):  # funds, their bots, and the three track-record queries
        funds = funds_track_record_attach(fund_list_open())
    assert len(funds) == 4 and all(fund.track_record["fund_bot_count"] == 2 for fund in funds)
