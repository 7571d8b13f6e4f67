"""/api/v1/exchange-settings: create (with secret), list masked, check, delete; others' ids are 404."""

from __future__ import annotations

from decimal import Decimal

import pytest

from emulators.exchange import EmulatorServer
from exchanges.models import ExchangeSetting
from tests.api.conftest import assert_error, client_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("exchange_api_base")]
URL = "/api/v1/exchange-settings"


def test_create_list_check_delete_never_return_the_secret(exchange_emulator: EmulatorServer) -> None:
    api = client_for(UserFactory())
    key = exchange_emulator.control.create_key(balances={"USDT": "777"})
    created = api.post(URL, {"name": "Main", "exchange": "binanceusdm", "api_key": key["api_key"],
                             "api_secret": key["secret"]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["api_key_hint"] == f"{key['api_key'][:4]}…{key['api_key'][-4:]}"
    assert body["validation_status"] == "valid" and body["can_withdraw"] is False

    listed = api.get(URL)
    checked = api.post(f"{URL}/{body['id']}/check")
    for response in (created, listed, checked):
        assert key["secret"] not in response.content.decode() and key["api_key"] not in response.content.decode()
    assert [row["id"] for row in listed.json()] == [body["id"]]
    assert checked.json()["valid"] is True
    [balance] = checked.json()["balances"]
    assert balance["currency"] == "USDT" and Decimal(balance["total"]) == Decimal(balance["free"]) == 777

    assert api.delete(f"{URL}/{body['id']}").status_code == 204
    assert api.get(URL).json() == []


def test_wrong_key_is_a_422_with_the_exchange_reason_and_nothing_saved(exchange_emulator: EmulatorServer) -> None:
    api = client_for(UserFactory())
    key = exchange_emulator.control.create_key()
    response = api.post(URL, {"name": "Main", "api_key": key["api_key"], "api_secret": "x" * 64})
    error = assert_error(response, 422, field="api_secret")
    assert "secret does not match" in error["message"]
    assert ExchangeSetting.objects.count() == 0


def test_another_users_key_is_404_everywhere(exchange_emulator: EmulatorServer) -> None:
    owner, stranger = client_for(UserFactory()), client_for(UserFactory())
    key = exchange_emulator.control.create_key()
    created = owner.post(URL, {"name": "Main", "api_key": key["api_key"], "api_secret": key["secret"]}).json()
    for response in (stranger.get(f"{URL}/{created['id']}"), stranger.post(f"{URL}/{created['id']}/check"),
                     stranger.delete(f"{URL}/{created['id']}")):
        assert_error(response, 404)
    assert ExchangeSetting.objects.filter(pk=created["id"]).exists()


def test_unknown_fields_are_refused(exchange_emulator: EmulatorServer) -> None:
    api = client_for(UserFactory())
    response = api.post(URL, {"name": "Main", "api_key": "k" * 20, "api_secret": "s" * 20, "secret_mode": 1})
    assert_error(response, 422)
