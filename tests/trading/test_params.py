from __future__ import annotations

import pytest

from core.errors import ValidationError
from trading.params import Param, ParamSchema
from trading.strategies.registry import (
    strategy_default_settings,
    strategy_get,
    strategy_names,
    strategy_settings_describe,
    strategy_settings_validate,
)


def test_builtin_strategies_are_registered_under_the_catalog_names() -> None:
    assert {"sma_cross", "rsi_reversion", "bollinger_scalp", "grid"} <= set(strategy_names())


def test_sma_cross_defaults_are_long_only_all_equity_10_30() -> None:
    defaults = strategy_default_settings("sma_cross")
    assert defaults["fast"] == 10 and defaults["slow"] == 30
    assert defaults["allow_short"] is False and defaults["size_pct"] == 100
    assert {"symbol", "timeframe", "leverage", "stop_loss_pct", "take_profit_pct"} <= set(defaults)


def test_leverage_of_500_is_refused_naming_the_field_and_range() -> None:
    with pytest.raises(ValidationError) as excinfo:
        strategy_settings_validate("sma_cross", {"leverage": 500})
    assert excinfo.value.field == "leverage"
    assert excinfo.value.message == "leverage must be a whole number between 1 and 125 (got 500)"


def test_negative_period_is_refused_naming_the_field_and_range() -> None:
    with pytest.raises(ValidationError) as excinfo:
        strategy_settings_validate("rsi_reversion", {"period": -3})
    assert excinfo.value.field == "period"
    assert "between 2 and 100" in excinfo.value.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fast": 2.5}, "fast"),
        ({"fast": True}, "fast"),
        ({"timeframe": "7m"}, "timeframe"),
        ({"symbol": "bitcoin"}, "symbol"),
        ({"stop_loss_pct": float("nan")}, "stop_loss_pct"),
        ({"nonsense": 1}, "nonsense"),
        ({"fast": 40, "slow": 30}, "fast"),
        ({"leverage": 20, "stop_loss_pct": 10}, "stop_loss_pct"),
    ],
)
def test_invalid_settings_name_their_field(changes: dict, field: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        strategy_settings_validate("sma_cross", changes)
    assert excinfo.value.field == field


def test_values_from_chat_text_are_coerced_to_their_types() -> None:
    cleaned = strategy_settings_validate(
        "sma_cross", {"fast": "12", "allow_short": "yes", "stop_loss_pct": "2.5", "symbol": "eth/usdt"}
    )
    assert cleaned == {"fast": 12, "allow_short": True, "stop_loss_pct": 2.5, "symbol": "ETH/USDT"}


def test_cross_field_rules_see_the_settings_passed_with_the_change() -> None:
    # A bot whose default slow is 50 may take fast = 40, though the schema default slow is 30.
    assert strategy_settings_validate("sma_cross", {"slow": 50, "fast": 40}) == {"slow": 50, "fast": 40}


def test_describe_gives_editors_type_bounds_default_and_help() -> None:
    fields = {item["name"]: item for item in strategy_settings_describe("sma_cross")}
    assert fields["leverage"]["min"] == 1 and fields["leverage"]["max"] == 125
    assert fields["timeframe"]["type"] == "choice" and "1h" in fields["timeframe"]["choices"]
    assert fields["fast"]["description"] and fields["fast"]["group"] == "strategy"
    assert fields["symbol"]["group"] == "common"


def test_unknown_strategy_is_a_validation_error_listing_the_known_ones() -> None:
    with pytest.raises(ValidationError) as excinfo:
        strategy_get("moon_shot")
    assert excinfo.value.field == "strategy" and "sma_cross" in excinfo.value.message


def test_a_schema_serves_non_candle_bots_too() -> None:
    schema = ParamSchema([Param("side", "choice", "buy", choices=("buy", "sell")), Param("amount", "float", 10, min=1)])
    assert schema.defaults() == {"side": "buy", "amount": 10.0}
    assert schema.resolve({"amount": "5"}) == {"side": "buy", "amount": 5.0}
    with pytest.raises(ValidationError, match="amount must be a number of at least 1"):
        schema.validate({"amount": 0})
