"""/api/v1/funds: list, detail, subscribe, cancel, resume."""

from __future__ import annotations

import pytest

from funds.models import FundStatus, FundSubscription
from tests.api.conftest import ApiClient, assert_error, client_for
from tests.factories import BotFactory, FundBotFactory, FundFactory, UserFactory

pytestmark = pytest.mark.django_db


def _fund(**kwargs):
    fund = FundFactory(**kwargs)
    FundBotFactory(fund=fund, bot=BotFactory())
    FundBotFactory(fund=fund, bot=BotFactory())
    return fund


def test_list_and_detail_show_open_funds_with_bots_and_subscribers(api: ApiClient) -> None:
    fund = _fund()
    _fund(status=FundStatus.DRAFT)
    client_for(UserFactory()).post(f"/api/v1/funds/{fund.pk}/subscribe")
    listed = api.get("/api/v1/funds").json()
    assert [f["id"] for f in listed] == [fund.pk]
    assert listed[0]["subscriber_count"] == 1 and len(listed[0]["bots"]) == 2
    detail = api.get(f"/api/v1/funds/{fund.pk}").json()
    assert detail["fee"] == "10.00" and detail["bots"][0]["name"]


def test_subscribe_cancel_resume_round_trip(api: ApiClient) -> None:
    fund = _fund()
    created = api.post(f"/api/v1/funds/{fund.pk}/subscribe")
    assert created.status_code == 201
    sub = created.json()
    assert sub["status"] == "active" and len(sub["subscribed_bot_ids"]) == 2
    assert len(api.get("/api/v1/bots/mine").json()) == 2
    assert [s["id"] for s in api.get("/api/v1/funds/subscriptions").json()] == [sub["id"]]

    assert api.post(f"/api/v1/funds/subscriptions/{sub['id']}/cancel").json()["status"] == "cancelled"
    assert api.get("/api/v1/funds/subscriptions").json() == []
    assert len(api.get("/api/v1/funds/subscriptions", include_ended="true").json()) == 1
    assert api.post(f"/api/v1/funds/subscriptions/{sub['id']}/resume").json()["status"] == "active"


def test_subscribing_twice_or_to_a_closed_fund_is_409(api: ApiClient) -> None:
    fund = _fund()
    api.post(f"/api/v1/funds/{fund.pk}/subscribe")
    assert_error(api.post(f"/api/v1/funds/{fund.pk}/subscribe"), 409)
    assert_error(api.post(f"/api/v1/funds/{_fund(status=FundStatus.CLOSED).pk}/subscribe"), 409)
    assert_error(api.post(f"/api/v1/funds/{_fund(status=FundStatus.DRAFT).pk}/subscribe"), 404)


def test_pending_when_the_fund_requires_approval(api: ApiClient) -> None:
    sub = api.post(f"/api/v1/funds/{_fund(requires_approval=True).pk}/subscribe").json()
    assert sub["status"] == "pending"


def test_another_users_subscription_is_404(api: ApiClient) -> None:
    other = client_for(UserFactory())
    sub = other.post(f"/api/v1/funds/{_fund().pk}/subscribe").json()
    for path in [f"/api/v1/funds/subscriptions/{sub['id']}/cancel", f"/api/v1/funds/subscriptions/{sub['id']}/resume"]:
        assert_error(api.post(path), 404)
    assert_error(api.get(f"/api/v1/funds/subscriptions/{sub['id']}"), 404)
    assert FundSubscription.objects.get(pk=sub["id"]).status == "active"
