"""Catalog and fund endpoints carry subscribers and the track record, in a bounded number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bots.models import RunType
from bots.services import bot_run_publish_reference
from tests.api.conftest import ApiClient
from tests.bots.test_track_record import instance, simulation
from tests.factories import BotFactory, FundBotFactory

pytestmark = pytest.mark.django_db


def _bot_with_history():
    bot = BotFactory()
    for _ in range(3):
        instance(bot, RunType.LIVE, pnls=("20",))
    bot_run_publish_reference(run_id=simulation(bot).pk)
    return bot


def _queries(api: ApiClient, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(path).status_code == 200
    return len(captured)


def test_catalog_shows_subscribers_track_record_and_reference_simulation(api: ApiClient) -> None:
    bot = _bot_with_history()
    listed = {row["id"]: row for row in api.get("/api/v1/bots/catalog").json()}
    one = api.get(f"/api/v1/bots/catalog/{bot.pk}").json()
    for row in (listed[bot.pk], one):
        row["track_record"].pop("since")  # the period ends at each request's moment
    assert listed[bot.pk] == one
    assert one["subscriber_count"] == 4  # three live instances and the simulation's owner
    record = one["track_record"]
    assert record["period_days"] == 30 and record["fund_bot_count"] is None
    assert record["live"] == {"return_pct": "2.00", "bot_count": 3, "trade_count": 3, "withheld": False,
                              "fund_bots_covered": None}
    assert record["dry_run"]["return_pct"] is None
    assert record["simulation"]["return_pct"] == "12.50" and record["simulation"]["synthetic"] is True


def test_catalog_list_queries_do_not_grow_with_the_number_of_bots(api: ApiClient,
                                                                  django_assert_max_num_queries) -> None:
    _bot_with_history()
    few = _queries(api, "/api/v1/bots/catalog")
    for _ in range(6):
        _bot_with_history()
    with django_assert_max_num_queries(few):
        assert len(api.get("/api/v1/bots/catalog").json()) == 7


def test_fund_list_shows_weighted_figures_without_a_query_per_fund(api: ApiClient,
                                                                   django_assert_max_num_queries) -> None:
    fund = FundBotFactory(bot=_bot_with_history()).fund
    few = _queries(api, "/api/v1/funds")
    for _ in range(5):
        FundBotFactory(bot=_bot_with_history())
    with django_assert_max_num_queries(few):
        funds = api.get("/api/v1/funds").json()
    assert len(funds) == 6
    record = api.get(f"/api/v1/funds/{fund.pk}").json()["track_record"]
    assert record["fund_bot_count"] == 1 and record["live"]["return_pct"] == "2.00"
    assert record["live"]["fund_bots_covered"] == 1 and record["simulation"]["fund_bots_covered"] == 1
