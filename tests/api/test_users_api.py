"""/api/v1/users: account, settings, tokens; authentication rules."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.conftest import ApiClient, assert_error, client_for
from tests.factories import StaffFactory, UserFactory
from users.models import ApiToken, UserStatus
from users.services import user_block

pytestmark = pytest.mark.django_db


def test_me_returns_the_token_owner(api: ApiClient) -> None:
    response = api.get("/api/v1/users/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == api.user.username and body["status"] == "active"
    assert "password" not in body and body["chat_identities"] == []


def test_patch_me_updates_email_and_timezone(api: ApiClient) -> None:
    response = api.patch("/api/v1/users/me", {"email": "new@example.org", "timezone": "Asia/Seoul"})
    assert response.status_code == 200
    assert (response.json()["email"], response.json()["timezone"]) == ("new@example.org", "Asia/Seoul")
    api.user.refresh_from_db()
    assert api.user.timezone == "Asia/Seoul"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"timezone": "Moon/Base"}, "timezone"),
        ({"timezone": 5}, "timezone"),
        ({"email": "a" * 300}, "email"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_patch_me_rejects_bad_input_with_field_and_reason(api: ApiClient, body: dict, field: str) -> None:
    error = assert_error(api.patch("/api/v1/users/me", body), 422, field=field)
    assert field in error["message"]


def test_token_is_shown_once_then_only_its_prefix(api: ApiClient) -> None:
    created = api.post("/api/v1/users/me/tokens", {"name": "laptop"})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith(created.json()["prefix"])

    listed = api.get("/api/v1/users/me/tokens").json()
    assert {t["name"] for t in listed} == {"tests", "laptop"}
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert ApiClient(api.user, token).get("/api/v1/users/me").status_code == 200


def test_revoked_token_stops_working(api: ApiClient) -> None:
    created = api.post("/api/v1/users/me/tokens", {"name": "temp"}).json()
    second = ApiClient(api.user, created["token"])
    assert api.delete(f"/api/v1/users/me/tokens/{created['id']}").status_code == 204
    assert_error(second.get("/api/v1/users/me"), 401, code="unauthorized")
    assert api.get("/api/v1/users/me").status_code == 200


def test_revoking_another_users_token_is_404_and_leaves_it_working(api: ApiClient) -> None:
    other = client_for(UserFactory())
    other_token = ApiToken.objects.get(user=other.user)
    assert_error(api.delete(f"/api/v1/users/me/tokens/{other_token.pk}"), 404, code="not_found")
    assert other.get("/api/v1/users/me").status_code == 200


def test_missing_or_bad_token_is_401(anonymous: ApiClient) -> None:
    assert_error(anonymous.get("/api/v1/users/me"), 401)
    assert_error(ApiClient(None, "ldp_not-a-real-token").get("/api/v1/users/me"), 401)
    response = Client().get("/api/v1/users/me", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert_error(response, 401)


def test_blocked_user_cannot_use_the_api_and_is_told_why(api: ApiClient) -> None:
    user_block(user=api.user)
    error = assert_error(api.get("/api/v1/users/me"), 403, code="forbidden")
    assert "blocked" in error["message"]
    assert_error(api.post("/api/v1/users/me/tokens", {"name": "x"}), 403)


def test_pending_user_is_told_to_wait_for_approval(api: ApiClient) -> None:
    type(api.user).objects.filter(pk=api.user.pk).update(status=UserStatus.PENDING)
    assert "approval" in assert_error(api.get("/api/v1/users/me"), 403)["message"]


def test_logged_in_session_can_browse_the_api(client: Client) -> None:
    staff = StaffFactory()
    client.force_login(staff)
    assert client.get("/api/v1/users/me").json()["username"] == staff.username
    assert client.get("/api/docs").status_code == 200


def test_session_writes_need_csrf(db) -> None:
    staff = StaffFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.patch("/api/v1/users/me", data='{"timezone": "UTC"}', content_type="application/json")
    assert response.status_code == 403


def test_live_trading_confirmation_needs_explicit_true(api: ApiClient) -> None:
    path = "/api/v1/users/me/live-trading-confirmation"
    assert_error(api.post(path, {"i_understand_the_risks": False}), 422, field="i_understand_the_risks")
    assert api.post(path, {"i_understand_the_risks": True}).json()["live_trading_confirmed_at"] is not None


def test_token_last_used_at_is_recorded(api: ApiClient) -> None:
    api.get("/api/v1/users/me")
    assert ApiToken.objects.get(user=api.user).last_used_at is not None
