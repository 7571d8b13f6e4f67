from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema

from bots.schemas import TrackRecordOut


class FundBotOut(Schema):
    bot_id: int
    name: str
    kind: str
    weight: Decimal

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.bot.name

    @staticmethod
    def resolve_kind(obj) -> str:
        return obj.bot.kind


class FundOut(Schema):
    id: int
    name: str
    slug: str
    description: str
    fee: Decimal
    currency: str
    period: str
    status: str
    requires_approval: bool
    subscriber_count: int
    bots: list[FundBotOut]
    track_record: TrackRecordOut = Field(description="its bots' figures weight-averaged by the fund's weights")

    @staticmethod
    def resolve_bots(obj) -> list:
        return list(obj.fund_bots.all())


class FundBriefOut(Schema):
    id: int
    name: str


class FundSubscriptionOut(Schema):
    id: int
    fund: FundBriefOut
    status: str
    started_at: datetime | None
    ends_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    subscribed_bot_ids: list[int]

    @staticmethod
    def resolve_subscribed_bot_ids(obj) -> list[int]:
        return sorted(row.pk for row in obj.subscribed_bots.all())  # prefetched by the list selector
