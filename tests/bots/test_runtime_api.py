"""/api/v1/runtime: START/STOP, status, events and reports through HTTP with a user's token."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bots.models import BotState, RunStatus, RunType, SubscribedBot
from bots.runtime.services import bot_start_finish, bot_stop_finish
from tests.api.conftest import assert_error, client_for
from tests.factories import BotFactory, BotRunFactory, SubscribedBotFactory, TradeFactory, UserFactory

pytestmark = pytest.mark.django_db

SETTINGS = {"symbol": "BTC/USDT", "timeframe": "1m", "fast": 5, "slow": 20}


def _mine():  # noqa: ANN202
    subscribed = SubscribedBotFactory(bot=BotFactory(default_setting=dict(SETTINGS)), run_type=RunType.DRY_RUN)
    return subscribed, client_for(subscribed.user)


def test_start_and_stop_through_the_api() -> None:
    subscribed, api = _mine()
    response = api.post(f"/api/v1/runtime/bots/{subscribed.pk}/start")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == BotState.STARTING
    bot_start_finish(subscribed_bot_id=subscribed.pk)
    assert api.get(f"/api/v1/runtime/bots/{subscribed.pk}").json()["state"] == BotState.RUNNING

    response = api.post(f"/api/v1/runtime/bots/{subscribed.pk}/stop", {"close_position": False})
    assert response.status_code == 202 and response.json()["state"] == BotState.STOPPING
    bot_stop_finish(subscribed_bot_id=subscribed.pk)
    assert SubscribedBot.objects.get(pk=subscribed.pk).state == BotState.STOPPED
    kinds = [event["kind"] for event in api.get(f"/api/v1/runtime/bots/{subscribed.pk}/events").json()]
    assert kinds == ["stopped", "started"]


def test_illegal_transitions_are_409_with_a_clear_message() -> None:
    subscribed, api = _mine()
    error = assert_error(api.post(f"/api/v1/runtime/bots/{subscribed.pk}/stop"), 409, code="conflict")
    assert "already stopped" in error["message"]


def test_starting_with_invalid_settings_is_422_naming_the_field() -> None:
    subscribed, api = _mine()
    SubscribedBot.objects.filter(pk=subscribed.pk).update(user_bot_setting={"fast": 0})
    assert_error(api.post(f"/api/v1/runtime/bots/{subscribed.pk}/start"), 422, field="fast")


def test_someone_elses_bot_is_404_everywhere() -> None:
    subscribed = SubscribedBotFactory()
    api = client_for(UserFactory())
    for method, path in [("post", "start"), ("post", "stop"), ("get", ""), ("get", "events"), ("get", "report")]:
        url = f"/api/v1/runtime/bots/{subscribed.pk}/{path}".rstrip("/")
        assert_error(getattr(api, method)(url), 404)


def test_status_list_and_reports() -> None:
    subscribed, api = _mine()
    run = BotRunFactory(subscribed_bot=subscribed, run_type=RunType.DRY_RUN, status=RunStatus.FINISHED,
                        parameters={"starting_equity": "1000"})
    TradeFactory(run=run, is_open=False, realized_pnl=Decimal("25"), fee=Decimal("2"))

    rows = api.get("/api/v1/runtime/bots").json()
    assert [(row["subscribed_bot_id"], row["state"]) for row in rows] == [(subscribed.pk, "stopped")]
    report = api.get(f"/api/v1/runtime/bots/{subscribed.pk}/report").json()
    assert report["run_type"] == "dry_run" and Decimal(report["current"]["yield_pct"]) == Decimal("2.5")
    overall = api.get("/api/v1/runtime/reports/overall").json()
    assert list(overall) == ["dry_run"] and Decimal(overall["dry_run"]["pnl"]) == Decimal("25")
    compare = api.get("/api/v1/runtime/reports/compare", run_type="dry_run").json()
    assert [row["subscribed_bot_id"] for row in compare["dry_run"]] == [subscribed.pk]
    assert_error(api.get("/api/v1/runtime/reports/compare", run_type="paper"), 422, field="run_type")
