"""Catalog screens: subscribers, the track record as published (live and dry-run apart, withheld, none yet)
and the reference simulation, for bots and funds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bots.models import RunType
from bots.services import bot_run_publish_reference
from tests.bots.test_track_record import instance, simulation
from tests.chat.conftest import CoreDriver
from tests.factories import BotFactory, FundBotFactory

pytestmark = pytest.mark.django_db


def _open_bot(driver: CoreDriver, bot) -> str:
    driver.command("start")
    driver.command("catalog")
    driver.press("Automated bots")
    driver.press(bot.name)
    return driver.text


def test_a_bot_without_results_says_so_plainly(tg_driver: CoreDriver) -> None:
    text = _open_bot(tg_driver, BotFactory(name="Fresh Bot"))
    assert "Subscribers: 0" in text
    assert "Track record: none yet — no dry-run or live results in the last 30 days." in text
    assert "Simulation: none published yet." in text


def test_a_bot_card_shows_live_and_dry_run_apart_and_the_labelled_simulation(tg_driver: CoreDriver) -> None:
    bot = BotFactory(name="Trend Bot")
    for _ in range(3):
        instance(bot, RunType.LIVE, pnls=("20", "5"))
    instance(bot, RunType.DRY_RUN, pnls=("7",))  # one account only: withheld
    bot_run_publish_reference(run_id=simulation(bot, total_return_pct=12.5, max_drawdown_pct=4.25).pk)
    text = _open_bot(tg_driver, bot)
    assert "Subscribers: 5" in text
    assert "Track record, the last 30 days (realised after fees, every subscriber's bot pooled):" in text
    assert "  Live (real money): +2.50 % · from 3 subscriber bots · 6 trades" in text
    assert "  Dry-run (paper money): run by too few accounts to publish yet" in text
    assert ("Reference simulation (2024-01-01 → 2024-03-01, synthetic prices): +12.50 %, max drawdown 4.25 %, "
            "20 trades") in text


def test_the_bot_list_shows_subscribers_and_the_headline(tg_driver: CoreDriver) -> None:
    bot = BotFactory(name="Listed Bot", description="Follows trends.")
    for _ in range(3):
        instance(bot, RunType.DRY_RUN, pnls=("-10",))
    tg_driver.command("start")
    tg_driver.command("catalog")
    tg_driver.press("Automated bots")
    assert "• Listed Bot — Follows trends. (3 subscribers, dry-run −1.00 % in the last 30 days)" in tg_driver.text


def test_a_fund_card_shows_its_bots_figures_weighted(tg_driver: CoreDriver) -> None:
    first = FundBotFactory(bot=BotFactory(name="Alpha"), weight=Decimal("0.75"))
    fund = first.fund
    FundBotFactory(fund=fund, bot=BotFactory(name="Beta"), weight=Decimal("0.25"))
    for _ in range(3):
        instance(first.bot, RunType.LIVE, pnls=("40",))
    tg_driver.command("start")
    tg_driver.command("funds")
    assert "live +4.00 % in the last 30 days" in tg_driver.text
    tg_driver.press(fund.name)
    assert "  Live (real money): +4.00 % · from 3 subscriber bots of 1 of its 2 bots · 3 trades" in tg_driver.text
    assert "Simulation: none published yet." in tg_driver.text
