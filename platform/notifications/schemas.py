from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import ConfigDict, StrictBool

ObjectId = Annotated[int, Field(gt=0, lt=2**63, strict=False)]
EventName = Annotated[str, Field(max_length=40)]
ChannelName = Annotated[str, Field(max_length=20)]


class NotificationEventOut(Schema):
    event: str
    label: str
    description: str
    critical: bool = Field(description="an interrupted delivery is retried even at the risk of a duplicate")
    channels: dict[str, bool] = Field(description="telegram / slack / email: on or off")


class DestinationOut(Schema):
    channel: str
    label: str
    enabled: bool = Field(description="notifications go to this destination")
    available: bool = Field(description="this server can deliver there now")
    identity_id: int | None = Field(None, description="the linked chat; null for e-mail")
    off_reason: str = Field("", description="why a chat is off: user (muted), operator, or unreachable (the bot "
                                            "was blocked; it comes back when you write to it again)")


class NotificationPreferencesOut(Schema):
    events: list[NotificationEventOut]
    destinations: list[DestinationOut]


class DestinationPatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    identity_id: ObjectId
    enabled: StrictBool


class NotificationPreferencesPatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    events: dict[EventName, dict[ChannelName, StrictBool]] | None = Field(
        None, description='e.g. {"bot_started": {"telegram": false}, "trade_closed": {"email": true}}'
    )
    destinations: list[DestinationPatchIn] | None = Field(
        None, max_length=50, description="switch all notifications to one linked chat on or off"
    )


class DeliveryOut(Schema):
    channel: str
    status: str
    sent_at: datetime | None


class NotificationOut(Schema):
    id: int
    event: str
    title: str
    text: str
    created_at: datetime
    deliveries: list[DeliveryOut]

    @staticmethod
    def resolve_deliveries(obj) -> list:
        return list(obj.messages.all())


class RecentQuery(Schema):
    limit: int = Field(20, ge=1, le=100)
