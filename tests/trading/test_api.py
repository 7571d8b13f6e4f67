"""/api/v1/simulations through the real API (token auth, error shape)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bots.models import BotRun
from marketdata.services import candles_generate
from tests.api.conftest import client_for
from tests.factories import BotFactory, SubscribedBotFactory, UserFactory
from trading.simulation.services import simulation_run

pytestmark = pytest.mark.django_db
END = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture
def bot(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    candles_generate(symbols=["BTC/USDT"], days=8, end=END)
    return SubscribedBotFactory(bot=BotFactory(strategy="bollinger_scalp", default_setting={
        "symbol": "BTC/USDT", "timeframe": "15m"}))


def body(bot, **extra):
    return {"subscribed_bot_id": bot.pk, "start": (END - timedelta(days=5)).isoformat(), "end": END.isoformat(),
            **extra}


def test_start_follow_and_read_a_simulation(bot, django_capture_on_commit_callbacks) -> None:
    api = client_for(bot.user)
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post("/api/v1/simulations", body(bot, balance="1000", slippage_bps="1.5"))
    assert response.status_code == 201, response.content
    run = response.json()
    assert (run["status"], run["progress"], run["synthetic_data"]) == ("queued", 0, True)
    assert run["parameters"]["balance"] == "1000"

    simulation_run(run_id=run["id"])  # what the worker does
    detail = api.get(f"/api/v1/simulations/{run['id']}").json()
    assert detail["status"] == "finished" and detail["progress"] == 100
    assert detail["metrics"]["trades"] >= 1 and detail["equity_curve"]
    trades = api.get(f"/api/v1/simulations/{run['id']}/trades").json()
    assert len(trades) == detail["metrics"]["trades"]
    chart = api.get(f"/api/v1/simulations/{run['id']}/chart")
    assert chart.status_code == 200 and chart["Content-Type"] == "image/png"
    assert [item["id"] for item in api.get("/api/v1/simulations").json()] == [run["id"]]


def test_bad_input_is_a_422_naming_the_field_and_nothing_is_created(bot) -> None:
    api = client_for(bot.user)
    response = api.post("/api/v1/simulations", body(bot, start=END.isoformat(),
                                                    end=(END - timedelta(days=1)).isoformat()))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "end"
    response = api.post("/api/v1/simulations", body(bot, settings={"std_mult": 50}))
    assert response.status_code == 422 and response.json()["error"]["field"] == "std_mult"
    assert not BotRun.objects.exists()


def test_other_users_cannot_see_or_start_simulations_of_your_bot(bot) -> None:
    other = client_for(UserFactory())
    assert other.post("/api/v1/simulations", body(bot)).status_code == 404
    run = BotRun.objects.create(subscribed_bot=bot, run_type="simulation")
    assert other.get(f"/api/v1/simulations/{run.pk}").status_code == 404
    assert other.get(f"/api/v1/simulations/{run.pk}/chart").status_code == 404


def test_strategies_list_their_settings_schema(bot) -> None:
    strategies = {s["name"]: s for s in client_for(bot.user).get("/api/v1/simulations/strategies").json()}
    assert {"sma_cross", "rsi_reversion", "bollinger_scalp", "grid"} <= set(strategies)
    fields = {p["name"]: p for p in strategies["sma_cross"]["parameters"]}
    assert fields["leverage"]["max"] == 125
