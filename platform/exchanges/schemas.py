from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema

from users.schemas import StrictIn


class ExchangeSettingCreateIn(StrictIn):
    name: str = Field(..., max_length=100, description="your label, e.g. 'Main futures'")
    exchange: str = Field("binanceusdm", max_length=32, description="ccxt exchange id")
    api_key: str = Field(..., max_length=512)
    api_secret: str = Field(..., max_length=512, description="write-only: never returned")


class ExchangeSettingOut(Schema):
    """A saved key as anyone may see it: the key masked, the secret never."""

    id: int
    name: str
    exchange: str
    api_key_hint: str = Field(..., description="masked key, abcd…wxyz")
    validation_status: str
    validation_message: str
    validated_at: datetime | None
    can_trade: bool | None
    can_trade_futures: bool | None
    can_withdraw: bool | None
    created_at: datetime


class BalanceOut(Schema):
    currency: str
    total: Decimal
    free: Decimal
    used: Decimal


class KeyCheckOut(Schema):
    valid: bool
    message: str
    can_trade: bool | None
    can_trade_futures: bool | None
    can_withdraw: bool | None
    balances: list[BalanceOut]
    checked_at: datetime | None
