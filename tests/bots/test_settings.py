"""A user's bot settings: validated by the strategy's parameter schema, stored as overrides only."""

from __future__ import annotations

import pytest

from bots import selectors, services
from bots.models import SubscribedBot, SubscriptionStatus
from core.errors import Conflict, NotFound, ValidationError
from tests.factories import BotFactory, SubscribedBotFactory, UserFactory

pytestmark = pytest.mark.django_db

DEFAULTS = {"symbol": "BTC/USDT", "timeframe": "1h", "fast": 10, "slow": 30}


@pytest.fixture
def mine() -> SubscribedBot:
    return SubscribedBotFactory(bot=BotFactory(strategy="sma_cross", default_setting=dict(DEFAULTS)))


def _update(row: SubscribedBot, changes: dict) -> SubscribedBot:
    return services.subscribed_bot_settings_update(user=row.user, subscribed_bot_id=row.pk, changes=changes)


def test_valid_change_is_stored_typed_as_an_override(mine: SubscribedBot) -> None:
    _update(mine, {"fast": "12", "leverage": 3})
    mine.refresh_from_db()
    assert mine.user_bot_setting == {"fast": 12, "leverage": 3}
    assert selectors.subscribed_bot_effective_settings(subscribed_bot=mine) == {**DEFAULTS, "fast": 12, "leverage": 3}


def test_out_of_range_value_names_field_and_range_and_saves_nothing(mine: SubscribedBot) -> None:
    with pytest.raises(ValidationError) as info:
        _update(mine, {"fast": 1})
    assert info.value.field == "fast" and "between 2 and 500" in info.value.message
    mine.refresh_from_db()
    assert mine.user_bot_setting == {}


def test_cross_field_rule_sees_the_merged_settings(mine: SubscribedBot) -> None:
    _update(mine, {"slow": 20})
    with pytest.raises(ValidationError) as info:
        _update(mine, {"fast": 25})  # default slow is 30, but this user's slow is 20
    assert info.value.field == "fast"
    assert SubscribedBot.objects.get(pk=mine.pk).user_bot_setting == {"slow": 20}


def test_unknown_setting_is_refused(mine: SubscribedBot) -> None:
    with pytest.raises(ValidationError) as info:
        _update(mine, {"moon_mode": True})
    assert info.value.field == "moon_mode"


def test_null_resets_a_setting_to_the_bot_default(mine: SubscribedBot) -> None:
    _update(mine, {"fast": 12, "slow": 40})
    _update(mine, {"fast": None})
    mine.refresh_from_db()
    assert mine.user_bot_setting == {"slow": 40}


def test_setting_back_to_the_default_drops_the_override(mine: SubscribedBot) -> None:
    _update(mine, {"fast": 12})
    _update(mine, {"fast": 10})
    assert SubscribedBot.objects.get(pk=mine.pk).user_bot_setting == {}


@pytest.mark.parametrize("changes", [{}, [], "fast=3", {"x" * 65: 1}, {"fast": float("nan")}])
def test_malformed_changes_are_refused(mine: SubscribedBot, changes) -> None:
    with pytest.raises(ValidationError):
        _update(mine, changes)


def test_another_users_bot_settings_are_not_found(mine: SubscribedBot) -> None:
    with pytest.raises(NotFound):
        services.subscribed_bot_settings_update(user=UserFactory(), subscribed_bot_id=mine.pk, changes={"fast": 12})


def test_ended_subscription_settings_cannot_change(mine: SubscribedBot) -> None:
    SubscribedBot.objects.filter(pk=mine.pk).update(status=SubscriptionStatus.CANCELLED)
    with pytest.raises(Conflict):
        _update(mine, {"fast": 12})


def test_bot_with_an_unknown_strategy_reports_it() -> None:
    row = SubscribedBotFactory(bot=BotFactory(strategy="no_such_strategy", default_setting={}))
    with pytest.raises(ValidationError) as info:
        _update(row, {"fast": 12})
    assert info.value.field == "strategy"
