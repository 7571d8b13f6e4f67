"""Ttadak's settings: one parameter schema (trading.params) registered under the strategy name "ttadak".

Effective settings = schema defaults, then the catalog bot's `default_setting`, then the user's
overrides; FOUNDATION's settings-update service validates them through the registry like any bot's.
What the schema cannot know (the market's leverage limit and minimum order size) is checked against
the exchange's market rules when the bot is started and at every press (ttadak.services.games).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from core.errors import ValidationError
from trading.params import Param, ParamSchema

STRATEGY_NAME = "ttadak"

# Binance USDⓈ-M futures fee tiers (maker, taker) as fractions, without the BNB discount.
FEE_LEVELS: dict[str, tuple[Decimal, Decimal]] = {
    "VIP0": (Decimal("0.000200"), Decimal("0.000500")),
    "VIP1": (Decimal("0.000160"), Decimal("0.000400")),
    "VIP2": (Decimal("0.000140"), Decimal("0.000350")),
    "VIP3": (Decimal("0.000120"), Decimal("0.000320")),
    "VIP4": (Decimal("0.000100"), Decimal("0.000300")),
    "VIP5": (Decimal("0.000080"), Decimal("0.000270")),
    "VIP6": (Decimal("0.000060"), Decimal("0.000250")),
    "VIP7": (Decimal("0.000040"), Decimal("0.000220")),
    "VIP8": (Decimal("0.000020"), Decimal("0.000200")),
    "VIP9": (Decimal("0.000000"), Decimal("0.000170")),
}
CUSTOM_FEES = "custom"

_SYMBOL = re.compile(r"^([A-Z0-9]{1,20})/([A-Z0-9]{1,12})(?::([A-Z0-9]{1,12}))?$")


def futures_symbol(text: str) -> str:
    """"btc/usdt" or "BTC/USDT:USDT" -> "BTC/USDT:USDT" (ccxt's USDⓈ-M perpetual symbol)."""
    match = _SYMBOL.match(text.strip().upper())
    if not match:
        raise ValidationError(f"symbol must look like BTC/USDT (got {text!r})", field="symbol")
    base, quote, settle = match.groups()
    if settle and settle != quote:
        raise ValidationError(f"symbol {text!r}: only {quote}-margined perpetuals are supported", field="symbol")
    return f"{base}/{quote}:{quote}"


TTADAK_PARAMS = ParamSchema([
    Param("symbol", "str", "BTC/USDT:USDT", pattern=futures_symbol, label="symbol",
          description="the USDⓈ-M perpetual to play, e.g. BTC/USDT"),
    Param("leverage", "int", 20, min=1, max=125, unit="x",
          description="leverage of both legs; also capped by the market's own limit"),
    Param("order_amount", "float", 0.002, min=0.00000001, max=1_000_000, label="order amount",
          description="size of each game in base units (e.g. BTC); at least the market's minimum"),
    Param("target_yield_pct", "float", 10.0, min=0.1, max=1000, unit="%", label="target yield",
          description="the exit is placed where the position earns this much of its margin (before fees)"),
    Param("stop_loss_pct", "float", 20.0, min=0.1, max=90, unit="%", label="stop loss",
          description="the position is closed at market when it has lost this much of its margin"),
    Param("max_duration_s", "int", 60, min=1, max=3600, unit="s", label="maximum duration",
          description="a game still open after this many seconds is closed at market"),
    Param("fee_level", "choice", "VIP0", choices=(*FEE_LEVELS, CUSTOM_FEES), label="fee level",
          description="your exchange fee tier; 'custom' uses the two fee settings below"),
    Param("maker_fee_pct", "float", 0.02, min=0, max=1, unit="%", label="maker fee",
          description="maker fee in % of notional (fee level 'custom' only)"),
    Param("taker_fee_pct", "float", 0.05, min=0, max=1, unit="%", label="taker fee",
          description="taker fee in % of notional (fee level 'custom' only)"),
])


def fee_rates(settings: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """(maker, taker) as fractions of notional for the settings' fee level."""
    level = settings.get("fee_level", "VIP0")
    if level == CUSTOM_FEES:
        return (Decimal(str(settings.get("maker_fee_pct", 0))) / 100,
                Decimal(str(settings.get("taker_fee_pct", 0))) / 100)
    return FEE_LEVELS[level]


def ttadak_settings_resolve(*layers: dict[str, Any] | None) -> dict[str, Any]:
    """Effective, validated settings from the layers (bot defaults, user overrides, …)."""
    return TTADAK_PARAMS.resolve(*layers)

