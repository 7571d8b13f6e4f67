"""/api/v1/users/me/notifications: read and change preferences, per-chat switches, recent notifications."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import EventType
from tests.api.conftest import ApiClient, client_for
from tests.factories import ChatIdentityFactory, UserFactory
from tests.notifications.conftest import investor

pytestmark = pytest.mark.django_db
URL = "/api/v1/users/me/notifications"


def _events(body: dict) -> dict[str, dict[str, bool]]:
    return {row["event"]: row["channels"] for row in body["events"]}


def test_get_shows_every_event_with_default_channels_and_the_destinations(telegram_api) -> None:
    user, identities = investor()
    response = client_for(user).get(URL)
    assert response.status_code == 200
    body = response.json()
    events = _events(body)
    assert set(events) == set(EventType.values)
    assert events["bot_started"] == {"telegram": True, "slack": True, "email": False}
    assert events["subscription_changed"]["email"] is True
    critical = {row["event"] for row in body["events"] if row["critical"]}
    assert critical == {"bot_error", "order_attention"}
    assert body["destinations"][0] == {
        "channel": "telegram", "label": f"Telegram @{identities['telegram'].username}", "enabled": True,
        "available": True, "identity_id": identities["telegram"].pk, "off_reason": "",
    }
    assert body["destinations"][-1]["channel"] == "email"


def test_patch_changes_only_the_named_switches() -> None:
    user = UserFactory()
    api = client_for(user)
    response = api.patch(URL, {"events": {"bot_started": {"telegram": False}, "trade_closed": {"email": True}}})
    assert response.status_code == 200
    events = _events(response.json())
    assert events["bot_started"] == {"telegram": False, "slack": True, "email": False}
    assert events["trade_closed"]["email"] is True
    assert _events(api.get(URL).json()) == events


@pytest.mark.parametrize(
    "body",
    [
        {"events": {"nope": {"telegram": True}}},
        {"events": {"bot_started": {"fax": True}}},
        {"events": {"bot_started": {"telegram": "yes"}}},
        {"events": {"bot_started": True}},
        {"destinations": [{"identity_id": -1, "enabled": True}]},
        {"destinations": [{"identity_id": 1, "enabled": "no"}]},
        {"whatever": 1},
    ],
)
def test_patch_refuses_junk_with_the_error_shape(body: dict) -> None:
    response = client_for(UserFactory()).patch(URL, body)
    assert response.status_code == 422
    assert set(response.json()["error"]) == {"code", "message", "field"}


def test_a_chat_can_be_switched_off_and_on_but_not_someone_elses() -> None:
    user = UserFactory()
    mine, theirs = ChatIdentityFactory(user=user), ChatIdentityFactory()
    api = client_for(user)

    response = api.patch(URL, {"destinations": [{"identity_id": mine.pk, "enabled": False}]})
    assert response.status_code == 200
    assert response.json()["destinations"][0]["enabled"] is False

    response = api.patch(
        URL,
        {"events": {"bot_started": {"email": True}}, "destinations": [{"identity_id": theirs.pk, "enabled": False}]},
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.notifications_enabled is True
    assert _events(api.get(URL).json())["bot_started"]["email"] is False  # all or nothing


def test_recent_lists_own_notifications_with_their_deliveries(telegram_api) -> None:
    user, _ = investor()
    services.notification_enqueue(user=user, event=EventType.BOT_ERROR, key="x", title="Bot 1: Bot error", text="Boom")
    other, _ = investor()
    services.notification_enqueue(user=other, event=EventType.BOT_ERROR, key="x", title="Theirs", text="Boom")

    response = client_for(user).get(f"{URL}/recent", limit=5)
    assert response.status_code == 200
    [row] = response.json()
    assert row["title"] == "Bot 1: Bot error"
    assert sorted((d["channel"], d["status"]) for d in row["deliveries"]) == [
        ("email", "pending"), ("telegram", "pending"),
    ]


def test_endpoints_need_a_token() -> None:
    anonymous = ApiClient(None, None)
    assert anonymous.get(URL).status_code == 401
    assert anonymous.patch(URL, {"events": {}}).status_code == 401
