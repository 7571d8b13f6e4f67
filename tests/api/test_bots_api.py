"""/api/v1/bots: catalog, subscribing, my bots, run type (settings: see test_bot_settings_api.py)."""

from __future__ import annotations

import pytest

from bots.models import BotKind, SubscribedBot
from exchanges.models import ExchangeSetting, KeyValidationStatus
from tests.api.conftest import ApiClient, assert_error, client_for
from tests.factories import BotFactory, SubscribedBotFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_catalog_lists_listed_bots_and_filters_by_kind(api: ApiClient) -> None:
    automated, manual = BotFactory(kind=BotKind.AUTOMATED), BotFactory(kind=BotKind.MANUAL)
    BotFactory(is_listed=False)
    assert {b["id"] for b in api.get("/api/v1/bots/catalog").json()} == {automated.pk, manual.pk}
    assert [b["id"] for b in api.get("/api/v1/bots/catalog", kind="manual").json()] == [manual.pk]
    assert_error(api.get("/api/v1/bots/catalog", kind="nonsense"), 422, field="kind")


def test_catalog_detail_and_unknown_ids(api: ApiClient) -> None:
    bot = BotFactory()
    assert api.get(f"/api/v1/bots/catalog/{bot.pk}").json()["default_setting"] == bot.default_setting
    assert_error(api.get("/api/v1/bots/catalog/999999"), 404, code="not_found")
    assert_error(api.get(f"/api/v1/bots/catalog/{BotFactory(is_listed=False).pk}"), 404)


def test_subscribe_then_see_it_in_my_bots(api: ApiClient) -> None:
    bot = BotFactory(default_setting={"fast": 10})
    created = api.post(f"/api/v1/bots/catalog/{bot.pk}/subscribe")
    assert created.status_code == 201
    body = created.json()
    assert body["bot"]["id"] == bot.pk and body["state"] == "stopped" and body["settings"] == {"fast": 10}
    assert [b["id"] for b in api.get("/api/v1/bots/mine").json()] == [body["id"]]
    assert api.get(f"/api/v1/bots/mine/{body['id']}").json()["run_type"] == "dry_run"
    assert_error(api.post(f"/api/v1/bots/catalog/{bot.pk}/subscribe"), 409, code="conflict")


def test_another_users_bot_is_404_everywhere(api: ApiClient) -> None:
    theirs = SubscribedBotFactory()
    assert_error(api.get(f"/api/v1/bots/mine/{theirs.pk}"), 404)
    assert_error(api.patch(f"/api/v1/bots/mine/{theirs.pk}/settings", {"settings": {"fast": 3}}), 404)
    assert_error(api.put(f"/api/v1/bots/mine/{theirs.pk}/run-type", {"run_type": "simulation"}), 404)
    assert api.get("/api/v1/bots/mine").json() == []
    assert SubscribedBot.objects.get(pk=theirs.pk).run_type == "dry_run"


def test_run_type_change_and_live_rules(api: ApiClient) -> None:
    mine = SubscribedBotFactory(user=api.user)
    path = f"/api/v1/bots/mine/{mine.pk}/run-type"
    assert api.put(path, {"run_type": "simulation"}).json()["run_type"] == "simulation"
    assert_error(api.put(path, {"run_type": "turbo"}), 422, field="run_type")
    assert "risks" in assert_error(api.put(path, {"run_type": "live"}), 409)["message"]

    api.post("/api/v1/users/me/live-trading-confirmation", {"i_understand_the_risks": True})
    key = ExchangeSetting.objects.create(
        user=api.user, name="main", exchange="binanceusdm", api_key_encrypted="c", api_secret_encrypted="c",
        api_key_hint="abcd…wxyz", validation_status=KeyValidationStatus.VALID,
    )
    body = api.put(path, {"run_type": "live", "exchange_setting_id": key.pk}).json()
    assert body["run_type"] == "live" and body["exchange_setting"]["api_key_hint"] == "abcd…wxyz"
    assert "api_key_encrypted" not in body["exchange_setting"]


def test_someone_elses_key_cannot_be_attached(api: ApiClient) -> None:
    mine = SubscribedBotFactory(user=api.user)
    other = client_for(UserFactory())
    key = ExchangeSetting.objects.create(
        user=other.user, name="x", exchange="binanceusdm", api_key_encrypted="c", api_secret_encrypted="c",
        api_key_hint="…",
    )
    response = api.put(f"/api/v1/bots/mine/{mine.pk}/run-type", {"run_type": "dry_run", "exchange_setting_id": key.pk})
    assert_error(response, 404)
    assert SubscribedBot.objects.get(pk=mine.pk).exchange_setting is None
