"""Ttadak in the strategy/param registry (trading.strategies.registry lists this module in PLUGIN_MODULES),
so bot settings updates, the admin and settings editors validate and describe Ttadak like any bot."""

from __future__ import annotations

from typing import ClassVar

from trading.params import ParamSchema
from trading.strategies.registry import strategy_register
from ttadak.params import STRATEGY_NAME, TTADAK_PARAMS


@strategy_register
class TtadakDefinition:
    """Not a candle strategy: games are played by hand from the game panel (ttadak.services)."""

    name: ClassVar[str] = STRATEGY_NAME
    title: ClassVar[str] = "Ttadak"
    description: ClassVar[str] = "BUY GAME / SELL GAME: an entry and an exit order sent together at high leverage."
    params: ClassVar[ParamSchema] = TTADAK_PARAMS
    manual: ClassVar[bool] = True  # the candle engine and the tick runtime leave it alone
