"""No input gives a 5xx: junk at every endpoint (from the OpenAPI schema, so new endpoints are covered).

Every 4xx answer has the one error shape.
"""

from __future__ import annotations

import json
import re

import pytest

from config.api import api as ninja_api
from tests.api.conftest import ApiClient, client_for
from tests.factories import BotFactory, FundBotFactory, FundFactory, SubscribedBotFactory, UserFactory
from users.services import api_token_create

pytestmark = pytest.mark.django_db

JUNK_IDS = ["abc", "-1", "0", "1.5", "9" * 30, "%00", "1e3", "null", "x" * 3000]
JUNK_BODIES: list[str] = [
    "",
    "{",
    "[]",
    "null",
    '"text"',
    "123",
    "\xff\xfe",
    json.dumps({"name": "x" * 200_000}),
    json.dumps({"email": ["a"], "timezone": {"a": 1}}),
    json.dumps({"timezone": "x" * 10_000, "email": "\u0000@example.com"}),
    json.dumps({"name": None}),
    json.dumps({"name": "\udcff".encode("utf-8", "surrogatepass").decode("utf-8", "replace")}),
    json.dumps({"settings": "not a dict"}),
    json.dumps({"settings": {"k" * 10_000: 1}}),
    json.dumps({"settings": {"fast": 1e308, "slow": -1, "symbol": ["x"]}}),
    json.dumps({"settings": {str(n): n for n in range(500)}}),
    '{"settings": {"fast": NaN, "slow": Infinity}}',
    '{"email": NaN}',
    json.dumps({"run_type": "live", "exchange_setting_id": -5}),
    json.dumps({"run_type": ["live"], "exchange_setting_id": 10**30}),
    json.dumps({"i_understand_the_risks": "maybe"}),
    json.dumps({"api_key": "k" * 100_000, "api_secret": None, "exchange": 7, "name": ""}),
    json.dumps({"a": {"b": {"c": {"d": [1, 2, {"e": None}]}}}}),
]
JUNK_QUERIES = [{"kind": "x" * 5000}, {"kind": "'; drop table bot; --"}, {"include_ended": "perhaps"}]


def _operations() -> list[tuple[str, str]]:
    schema = ninja_api.get_openapi_schema()
    return [
        (method.upper(), path)
        for path, methods in schema["paths"].items()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _check(response, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code} {response.content[:300]!r}"
    if response.status_code >= 400 and response.status_code != 405:
        body = response.json()
        assert set(body) == {"error"}, where
        assert set(body["error"]) == {"code", "message", "field"}, where


@pytest.fixture
def world() -> tuple[ApiClient, dict[str, str]]:
    """A user with one of everything, so real ids reach the services."""
    client = client_for(UserFactory())
    fund = FundFactory()
    FundBotFactory(fund=fund)
    subscribed = SubscribedBotFactory(user=client.user)
    token, _ = api_token_create(user=client.user, name="spare")
    sub = client.post(f"/api/v1/funds/{fund.pk}/subscribe").json()
    ids = {
        "bot_id": str(BotFactory().pk),
        "subscribed_bot_id": str(subscribed.pk),
        "fund_id": str(fund.pk),
        "subscription_id": str(sub["id"]),
        "token_id": str(token.pk),
    }
    return client, ids


def _real(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: ids.get(m.group(1), "1"), path)


def test_operations_are_discovered() -> None:
    assert len(_operations()) >= 15


def test_missing_and_bad_auth_everywhere_is_401(world) -> None:
    client, ids = world
    for method, path in _operations():
        for token in [None, "garbage", "ldp_" + "0" * 43, "x" * 5000]:
            response = ApiClient(None, token).request(method, _real(path, ids))
            _check(response, f"{method} {path} token={str(token)[:10]}")
            assert response.status_code == 401, f"{method} {path}"


def test_junk_ids_everywhere(world) -> None:
    client, _ = world
    for method, path in _operations():
        if "{" not in path:
            continue
        for junk in JUNK_IDS:
            response = client.request(method, _fill(path, junk), {})
            _check(response, f"{method} {path} id={junk[:20]}")
            assert response.status_code in (404, 422), f"{method} {path} id={junk[:20]}: {response.status_code}"


def test_junk_bodies_and_queries_everywhere(world) -> None:
    client, ids = world
    for method, path in _operations():
        url = _real(path, ids)
        if method == "GET":
            for query in JUNK_QUERIES:
                _check(client.get(url, **query), f"GET {path} {query}")
            continue
        for body in JUNK_BODIES:
            _check(client.request(method, url, raw=body), f"{method} {path} body={body[:40]!r}")


def test_unknown_ids_of_the_right_type_are_404(world) -> None:
    client, _ = world
    for method, path in _operations():
        if "{" in path:
            response = client.request(method, _fill(path, "987654321"), {})
            _check(response, f"{method} {path}")
            assert response.status_code in (404, 422), f"{method} {path}"
