"""Ttadak's settings schema: defaults, ranges, symbol normalisation, fee levels."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from core.errors import ValidationError
from ttadak.params import TTADAK_PARAMS, fee_rates, ttadak_settings_resolve


def test_defaults_are_a_playable_game() -> None:
    settings = ttadak_settings_resolve()
    assert settings["symbol"] == "BTC/USDT:USDT"
    assert settings["leverage"] == 20 and settings["fee_level"] == "VIP0"


def test_the_demo_catalog_defaults_validate() -> None:
    assert ttadak_settings_resolve({"symbol": "BTC/USDT:USDT", "leverage": 20})["leverage"] == 20


@pytest.mark.parametrize("text", ["btc/usdt", "BTC/USDT", " BTC/USDT:USDT "])
def test_symbol_is_normalised_to_the_perpetual(text: str) -> None:
    assert TTADAK_PARAMS.validate({"symbol": text}) == {"symbol": "BTC/USDT:USDT"}


@pytest.mark.parametrize(("name", "value"), [
    ("leverage", 0), ("leverage", 126), ("leverage", "lots"), ("stop_loss_pct", 95), ("max_duration_s", 0),
    ("order_amount", 0), ("fee_level", "VIP10"), ("symbol", "BTC-USDT"), ("symbol", "BTC/USDT:BTC"),
])
def test_out_of_range_settings_name_the_field(name: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        TTADAK_PARAMS.validate({name: value})
    assert caught.value.field == name


def test_fee_rates_of_a_tier_and_of_custom_fees() -> None:
    assert fee_rates({"fee_level": "VIP3"}) == (D("0.000120"), D("0.000320"))
    assert fee_rates({"fee_level": "custom", "maker_fee_pct": 0.01, "taker_fee_pct": 0.04}) == (D("0.0001"),
                                                                                                D("0.0004"))


def test_the_registry_validates_ttadak_settings_like_any_bot() -> None:
    from trading.strategies.registry import strategy_names, strategy_settings_validate

    assert "ttadak" in strategy_names()
    with pytest.raises(ValidationError) as caught:
        strategy_settings_validate("ttadak", {"leverage": 500})
    assert caught.value.field == "leverage" and "between 1 and 125" in caught.value.message


@pytest.mark.django_db
def test_the_settings_update_service_checks_ttadak_settings() -> None:
    from bots.services import subscribed_bot_settings_update
    from tests.factories import BotFactory, SubscribedBotFactory

    bot = BotFactory(kind="manual", strategy="ttadak", default_setting={"symbol": "BTC/USDT:USDT", "leverage": 20})
    mine = SubscribedBotFactory(bot=bot)
    with pytest.raises(ValidationError) as caught:
        subscribed_bot_settings_update(user=mine.user, subscribed_bot_id=mine.pk, changes={"stop_loss_pct": 99})
    assert caught.value.field == "stop_loss_pct"
    updated = subscribed_bot_settings_update(user=mine.user, subscribed_bot_id=mine.pk,
                                             changes={"leverage": "50", "symbol": "eth/usdt"})
    assert updated.user_bot_setting == {"leverage": 50, "symbol": "ETH/USDT:USDT"}
