from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import ConfigDict

# Path ids of every router: a positive 64-bit integer, so junk is a 422 and never reaches the database
# (an out-of-range integer would be a database error there).
ObjectId = Annotated[int, Field(gt=0, lt=2**63, strict=False)]


class StrictIn(Schema):
    """Input schemas refuse unknown fields, so a typo is a 422 instead of a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class ChatIdentityOut(Schema):
    surface: str
    username: str
    notifications_enabled: bool


class UserOut(Schema):
    id: int
    username: str
    email: str
    timezone: str
    display_currency: str
    role: str
    status: str
    live_trading_confirmed_at: datetime | None
    chat_identities: list[ChatIdentityOut]

    @staticmethod
    def resolve_chat_identities(obj) -> list:
        return list(obj.chat_identities.all())


class UserPatchIn(StrictIn):
    email: str | None = Field(None, max_length=254, description="empty string removes the e-mail")
    timezone: str | None = Field(None, max_length=64, description="IANA name, e.g. Europe/Berlin")


class LiveTradingConfirmIn(StrictIn):
    i_understand_the_risks: bool = Field(description="must be true: live bots trade real money")


class ApiTokenCreateIn(StrictIn):
    name: str = Field(max_length=100, description="what the token is for, e.g. 'laptop script'")


class ApiTokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="first characters of the token, to tell tokens apart")
    created_at: datetime
    last_used_at: datetime | None


class ApiTokenCreatedOut(ApiTokenOut):
    token: str = Field(description="the token itself: shown only now, store it safely")
