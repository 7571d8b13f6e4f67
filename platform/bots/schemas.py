from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from bots.selectors import subscribed_bot_effective_settings
from users.schemas import StrictIn


class BotOut(Schema):
    id: int
    name: str
    slug: str
    kind: str
    version: str
    strategy: str
    description: str
    default_setting: dict[str, Any]


class BotBriefOut(Schema):
    id: int
    name: str
    kind: str
    strategy: str


class FundBriefOut(Schema):
    id: int
    name: str


class ExchangeKeyBriefOut(Schema):
    """An attached exchange key, as the user may see it: label and masked hint, never the key."""

    id: int
    name: str
    exchange: str
    api_key_hint: str
    validation_status: str


class SubscribedBotOut(Schema):
    id: int
    bot: BotBriefOut
    fund: FundBriefOut | None
    exchange_setting: ExchangeKeyBriefOut | None
    status: str
    run_type: str
    state: str
    state_reason: str
    settings: dict[str, Any] = Field(description="effective settings: bot defaults overlaid with yours")
    overrides: dict[str, Any] = Field(description="the settings you changed")
    subscription_start: datetime
    subscription_end: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_fund(obj) -> Any:
        return obj.fund_subscription.fund if obj.fund_subscription_id else None

    @staticmethod
    def resolve_settings(obj) -> dict:
        return subscribed_bot_effective_settings(subscribed_bot=obj)

    @staticmethod
    def resolve_overrides(obj) -> dict:
        return obj.user_bot_setting or {}


class SettingsPatchIn(StrictIn):
    settings: dict[str, Any] = Field(
        description="settings to change, e.g. {\"fast\": 12}; null resets one to the bot's default"
    )


class RunTypeIn(StrictIn):
    run_type: str = Field(max_length=16, description="simulation, dry_run or live")
    exchange_setting_id: int | None = Field(None, gt=0, lt=2**63, description="your exchange key to attach")
