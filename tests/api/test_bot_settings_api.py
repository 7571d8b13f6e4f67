"""PATCH /api/v1/bots/mine/{id}/settings: the strategy schema's verdict in the one error shape."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient, assert_error
from tests.factories import BotFactory, SubscribedBotFactory

pytestmark = pytest.mark.django_db


def test_settings_patch_returns_effective_settings(api: ApiClient) -> None:
    row = SubscribedBotFactory(user=api.user, bot=BotFactory(strategy="sma_cross"))
    response = api.patch(f"/api/v1/bots/mine/{row.pk}/settings", {"settings": {"fast": 12}})
    assert response.status_code == 200
    assert response.json()["settings"]["fast"] == 12 and response.json()["overrides"] == {"fast": 12}


def test_settings_patch_out_of_range_is_422_with_field_and_range(api: ApiClient) -> None:
    row = SubscribedBotFactory(user=api.user, bot=BotFactory(strategy="sma_cross"))
    error = assert_error(api.patch(f"/api/v1/bots/mine/{row.pk}/settings", {"settings": {"slow": 5000}}), 422,
                         field="slow")
    assert "between 3 and 1000" in error["message"]
