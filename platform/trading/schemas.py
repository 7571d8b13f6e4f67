from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from users.schemas import ObjectId, StrictIn


class SimulationIn(StrictIn):
    subscribed_bot_id: ObjectId
    start: datetime = Field(description="first bar (ISO-8601 with a time zone)")
    end: datetime = Field(description="end of the range, exclusive")
    balance: Decimal = Field(Decimal("10000"), gt=0, le=Decimal("1e12"), description="starting balance (quote)")
    fee_rate: Decimal = Field(Decimal("0.001"), ge=0, le=Decimal("0.05"), description="per fill; 0.001 = 0.1%")
    slippage_bps: Decimal = Field(Decimal("0"), ge=0, le=500, description="market-order slippage, basis points")
    leverage: int | None = Field(None, ge=1, le=125, description="override the bot's leverage")
    symbol: str | None = Field(None, max_length=32)
    timeframe: str | None = Field(None, max_length=8)
    settings: dict[str, Any] | None = Field(None, description="strategy setting overrides for this run")


class SimulationOut(Schema):
    id: int
    subscribed_bot_id: int
    status: str
    progress: int
    parameters: dict[str, Any]
    settings: dict[str, Any]
    metrics: dict[str, Any]
    synthetic_data: bool
    has_chart: bool
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SimulationDetailOut(SimulationOut):
    equity_curve: list[list[str]]


class SimulationTradeOut(Schema):
    id: int
    side: str
    amount: Decimal
    entry_price: Decimal | None
    exit_price: Decimal | None
    realized_pnl: Decimal
    fee: Decimal
    exit_reason: str
    opened_at: datetime | None
    closed_at: datetime | None


class StrategyOut(Schema):
    name: str
    title: str
    description: str
    parameters: list[dict[str, Any]]
