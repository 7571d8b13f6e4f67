from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from bots.selectors import subscribed_bot_effective_settings
from users.schemas import StrictIn


class RunTypeRecordOut(Schema):
    """Realised results of one run type (live or dry-run; never mixed) over the track record's period."""

    return_pct: Decimal | None = Field(
        description="realised profit after fees of the trades closed in the period, over the capital the bots "
        "started with, in percent (every subscriber's instance pooled); null without data or when withheld"
    )
    bot_count: int = Field(description="subscribed bot instances the figure is based on")
    trade_count: int | None = Field(description="trades closed in the period (null when withheld)")
    withheld: bool = Field(description="too few accounts ran it to publish a figure without revealing one "
                                       "person's result")
    fund_bots_covered: int | None = Field(None, description="funds only: how many of the fund's bots have a figure")


class SimulationRecordOut(Schema):
    """The reference simulation operators published (a simulation: not a track record)."""

    return_pct: Decimal | None
    max_drawdown_pct: Decimal | None = Field(description="funds: the bots' own drawdowns, weight-averaged")
    trades: int | None
    start: str | None = Field(description="first day simulated (YYYY-MM-DD); funds: null when the bots' differ")
    end: str | None
    synthetic: bool = Field(description="simulated on generated (synthetic) prices, not market history")
    fund_bots_covered: int | None = Field(None, description="funds only: how many of the fund's bots have one")


class TrackRecordOut(Schema):
    period_days: int
    since: datetime
    live: RunTypeRecordOut
    dry_run: RunTypeRecordOut
    simulation: SimulationRecordOut | None
    fund_bot_count: int | None = Field(None, description="funds only: the number of bots in the fund")


class BotOut(Schema):
    id: int
    name: str
    slug: str
    kind: str
    version: str
    strategy: str
    description: str
    default_setting: dict[str, Any]
    subscriber_count: int = Field(description="accounts with an active instance of this bot")
    track_record: TrackRecordOut


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
