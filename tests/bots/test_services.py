"""Bot catalog, subscribing to single bots, effective settings and run-type rules."""

from __future__ import annotations

import pytest

from bots import selectors, services
from bots.models import BotKind, BotState, RunType, SubscribedBot, SubscriptionStatus
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from exchanges.models import ExchangeSetting, KeyValidationStatus
from tests.factories import BotFactory, SubscribedBotFactory, UserFactory
from users.models import UserStatus
from users.services import user_live_trading_confirm

pytestmark = pytest.mark.django_db


def _key(user, status: str = KeyValidationStatus.VALID, name: str = "main") -> ExchangeSetting:
    return ExchangeSetting.objects.create(
        user=user,
        name=name,
        exchange="binanceusdm",
        api_key_encrypted="x",
        api_secret_encrypted="y",
        api_key_hint="abcd…wxyz",
        validation_status=status,
    )


def test_catalog_lists_only_listed_bots_and_filters_by_kind() -> None:
    automated = BotFactory(kind=BotKind.AUTOMATED)
    manual = BotFactory(kind=BotKind.MANUAL)
    BotFactory(is_listed=False)
    assert set(selectors.bot_catalog_list()) == {automated, manual}
    assert list(selectors.bot_catalog_list(kind="manual")) == [manual]


def test_catalog_rejects_unknown_kind() -> None:
    with pytest.raises(ValidationError) as info:
        selectors.bot_catalog_list(kind="quantum")
    assert info.value.field == "kind"


def test_unlisted_or_missing_bot_is_not_found() -> None:
    hidden = BotFactory(is_listed=False)
    for bot_id in [hidden.pk, 999_999, 0, -1, "x"]:
        with pytest.raises(NotFound):
            selectors.bot_get_listed(bot_id=bot_id)


def test_subscribe_to_a_bot_creates_a_stopped_dry_run_instance() -> None:
    user, bot = UserFactory(), BotFactory()
    row = services.bot_subscribe(user=user, bot_id=bot.pk)
    assert (row.user, row.bot, row.status, row.state, row.run_type) == (
        user, bot, SubscriptionStatus.ACTIVE, BotState.STOPPED, RunType.DRY_RUN
    )
    assert row.fund_subscription is None and row.user_bot_setting == {}


def test_subscribing_twice_to_the_same_bot_is_a_conflict_naming_the_existing_one() -> None:
    user, bot = UserFactory(), BotFactory()
    first = services.bot_subscribe(user=user, bot_id=bot.pk)
    with pytest.raises(Conflict) as info:
        services.bot_subscribe(user=user, bot_id=bot.pk)
    assert info.value.extra["subscribed_bot_id"] == first.pk
    assert SubscribedBot.objects.count() == 1


def test_resubscribing_after_the_old_subscription_ended_is_allowed() -> None:
    user, bot = UserFactory(), BotFactory()
    first = services.bot_subscribe(user=user, bot_id=bot.pk)
    SubscribedBot.objects.filter(pk=first.pk).update(status=SubscriptionStatus.CANCELLED)
    assert services.bot_subscribe(user=user, bot_id=bot.pk).pk != first.pk


@pytest.mark.parametrize("status", [UserStatus.PENDING, UserStatus.BLOCKED])
def test_inactive_user_cannot_subscribe_to_bots(status: str) -> None:
    with pytest.raises(PermissionDenied):
        services.bot_subscribe(user=UserFactory(status=status), bot_id=BotFactory().pk)


def test_my_bots_lists_own_current_bots_only() -> None:
    user = UserFactory()
    mine = SubscribedBotFactory(user=user)
    SubscribedBotFactory(user=user, status=SubscriptionStatus.CANCELLED)
    SubscribedBotFactory()
    assert list(selectors.subscribed_bot_list_for_user(user=user)) == [mine]
    assert selectors.subscribed_bot_list_for_user(user=user, include_ended=True).count() == 2


def test_another_users_subscribed_bot_is_not_found() -> None:
    theirs = SubscribedBotFactory()
    with pytest.raises(NotFound):
        selectors.subscribed_bot_get_for_user(user=UserFactory(), subscribed_bot_id=theirs.pk)
    assert selectors.subscribed_bot_get_for_user(user=theirs.user, subscribed_bot_id=theirs.pk) == theirs


def test_effective_settings_overlay_user_overrides_on_bot_defaults() -> None:
    bot = BotFactory(default_setting={"symbol": "BTC/USDT", "fast": 10, "slow": 30})
    row = SubscribedBotFactory(bot=bot, user_bot_setting={"fast": 5})
    assert selectors.subscribed_bot_effective_settings(subscribed_bot=row) == {
        "symbol": "BTC/USDT", "fast": 5, "slow": 30
    }


# --- run type ------------------------------------------------------------------------------------------


def test_switching_between_simulation_and_dry_run_needs_no_key() -> None:
    row = SubscribedBotFactory()
    updated = services.subscribed_bot_run_type_set(user=row.user, subscribed_bot_id=row.pk, run_type="simulation")
    assert updated.run_type == RunType.SIMULATION
    assert SubscribedBot.objects.get(pk=row.pk).run_type == RunType.SIMULATION


def test_unknown_run_type_is_rejected() -> None:
    row = SubscribedBotFactory()
    with pytest.raises(ValidationError) as info:
        services.subscribed_bot_run_type_set(user=row.user, subscribed_bot_id=row.pk, run_type="yolo")
    assert info.value.field == "run_type"


def test_live_needs_confirmation_then_a_valid_key() -> None:
    row = SubscribedBotFactory()
    user = row.user
    with pytest.raises(Conflict, match="risks"):
        services.subscribed_bot_run_type_set(user=user, subscribed_bot_id=row.pk, run_type="live")
    user_live_trading_confirm(user=user)
    with pytest.raises(Conflict, match="Attach"):
        services.subscribed_bot_run_type_set(user=user, subscribed_bot_id=row.pk, run_type="live")
    unchecked = _key(user, KeyValidationStatus.UNCHECKED, name="new")
    with pytest.raises(Conflict, match="not validated"):
        services.subscribed_bot_run_type_set(
            user=user, subscribed_bot_id=row.pk, run_type="live", exchange_setting_id=unchecked.pk
        )
    assert SubscribedBot.objects.get(pk=row.pk).run_type == RunType.DRY_RUN
    assert SubscribedBot.objects.get(pk=row.pk).exchange_setting is None  # refused change saved nothing

    valid = _key(user)
    updated = services.subscribed_bot_run_type_set(
        user=user, subscribed_bot_id=row.pk, run_type="live", exchange_setting_id=valid.pk
    )
    assert (updated.run_type, updated.exchange_setting) == (RunType.LIVE, valid)


def test_live_refuses_another_users_key() -> None:
    row = SubscribedBotFactory()
    user_live_trading_confirm(user=row.user)
    with pytest.raises(NotFound):
        services.subscribed_bot_run_type_set(
            user=row.user, subscribed_bot_id=row.pk, run_type="live", exchange_setting_id=_key(UserFactory()).pk
        )


def test_run_type_change_refused_while_bot_runs() -> None:
    row = SubscribedBotFactory(state=BotState.RUNNING)
    with pytest.raises(Conflict, match="Stop"):
        services.subscribed_bot_run_type_set(user=row.user, subscribed_bot_id=row.pk, run_type="simulation")


def test_indicator_bots_never_go_live() -> None:
    row = SubscribedBotFactory(bot=BotFactory(kind=BotKind.INDICATOR))
    user_live_trading_confirm(user=row.user)
    with pytest.raises(Conflict, match="indicator"):
        services.subscribed_bot_run_type_set(
            user=row.user, subscribed_bot_id=row.pk, run_type="live", exchange_setting_id=_key(row.user).pk
        )


def test_pending_subscription_cannot_go_live() -> None:
    row = SubscribedBotFactory(status=SubscriptionStatus.PENDING)
    user_live_trading_confirm(user=row.user)
    with pytest.raises(Conflict, match="approval"):
        services.subscribed_bot_run_type_set(
            user=row.user, subscribed_bot_id=row.pk, run_type="live", exchange_setting_id=_key(row.user).pk
        )


def test_run_type_of_another_users_bot_is_not_found() -> None:
    row = SubscribedBotFactory()
    with pytest.raises(NotFound):
        services.subscribed_bot_run_type_set(user=UserFactory(), subscribed_bot_id=row.pk, run_type="simulation")
