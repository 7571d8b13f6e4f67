"""/api/v1/runtime: START/STOP of the caller's bots, their live status, events and reports.

Handlers parse, call one service or selector (bots.runtime, bots.monitoring) and format. Money is
sent as decimal strings; times as ISO-8601 UTC.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from bots import monitoring
from bots.runtime import bot_start, bot_stop
from users.schemas import ObjectId, StrictIn

router = Router(tags=["runtime"])


class StopIn(StrictIn):
    close_position: bool | None = Field(
        None, description="close the bot's position (true) or keep it (false); default: the bot's setting"
    )


class StateOut(Schema):
    id: int
    state: str
    state_reason: str
    state_changed_at: datetime | None
    run_type: str


class PositionOut(Schema):
    side: str
    amount: Decimal
    entry_price: Decimal | None
    mark_price: Decimal | None
    unrealized_pnl: Decimal


class OrderOut(Schema):
    id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    status: str
    purpose: str
    amount: Decimal
    filled: Decimal
    price: Decimal | None
    average: Decimal | None
    fee: Decimal
    created_at: datetime


class TradeOut(Schema):
    id: int
    run_id: int
    run_type: str
    pair: str
    side: str
    is_open: bool
    amount: Decimal
    entry_price: Decimal | None
    exit_price: Decimal | None
    realized_pnl: Decimal
    fee: Decimal
    exit_reason: str
    opened_at: datetime | None
    closed_at: datetime | None


class EventOut(Schema):
    id: int
    kind: str
    message: str
    created_at: datetime


class StatusOut(Schema):
    subscribed_bot_id: int
    name: str
    state: str
    state_reason: str
    state_changed_at: datetime | None
    run_type: str
    run_id: int | None
    exchange: str
    symbol: str
    timeframe: str
    position: PositionOut | None
    open_orders: list[OrderOut]
    starting_equity: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    yield_pct: Decimal
    fees: Decimal
    trade_count: int
    last_candle_at: datetime | None
    last_tick_at: datetime | None
    lag_seconds: float | None
    behind_seconds: float | None
    recent_trades: list[TradeOut]
    recent_orders: list[OrderOut]
    recent_events: list[EventOut]


class StatusRowOut(Schema):
    subscribed_bot_id: int
    name: str
    state: str
    state_reason: str
    run_type: str
    symbol: str
    timeframe: str
    position_side: str
    equity: Decimal
    yield_pct: Decimal
    trade_count: int
    last_tick_at: datetime | None


class RunFiguresOut(Schema):
    run_id: int
    run_type: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    starting_equity: Decimal
    pnl: Decimal
    fees: Decimal
    trade_count: int
    yield_pct: Decimal


class BotReportOut(Schema):
    subscribed_bot_id: int
    name: str
    run_type: str
    current: RunFiguresOut | None
    accumulated_yield_pct: Decimal
    total_pnl: Decimal
    fees: Decimal
    trade_count: int
    run_count: int
    recent_trades: list[TradeOut]
    equity_series: list[tuple[datetime, Decimal]]


class OverallReportOut(Schema):
    run_type: str
    bot_count: int
    starting_equity: Decimal
    pnl: Decimal
    yield_pct: Decimal
    accumulated_pnl: Decimal
    fees: Decimal
    trade_count: int
    recent_trades: list[TradeOut]
    equity_series: list[tuple[datetime, Decimal]]


class CompareRowOut(Schema):
    subscribed_bot_id: int
    name: str
    state: str
    run_type: str
    yield_pct: Decimal
    accumulated_yield_pct: Decimal
    pnl: Decimal
    fees: Decimal
    trade_count: int
    win_rate_pct: Decimal | None
    max_drawdown_pct: Decimal


class RunTypeFilter(Schema):
    run_type: str | None = Field(None, max_length=16, description="simulation, dry_run or live")


@router.post("/bots/{subscribed_bot_id}/start", response={202: StateOut}, summary="START a dry-run or live bot")
def start(request: HttpRequest, subscribed_bot_id: ObjectId):
    return Status(202, bot_start(user=request.auth, subscribed_bot_id=subscribed_bot_id))


@router.post("/bots/{subscribed_bot_id}/stop", response={202: StateOut}, summary="STOP a bot")
def stop(request: HttpRequest, subscribed_bot_id: ObjectId, payload: StopIn | None = None):
    close = payload.close_position if payload is not None else None
    return Status(202, bot_stop(user=request.auth, subscribed_bot_id=subscribed_bot_id, close_position=close))


@router.get("/bots", response=list[StatusRowOut], summary="Your bots at a glance")
def status_list(request: HttpRequest):
    return monitoring.bot_status_list(user=request.auth)


@router.get("/bots/{subscribed_bot_id}", response=StatusOut, summary="Live status of one bot")
def status_get(request: HttpRequest, subscribed_bot_id: ObjectId):
    return monitoring.bot_status_get(user=request.auth, subscribed_bot_id=subscribed_bot_id)


@router.get("/bots/{subscribed_bot_id}/events", response=list[EventOut], summary="What happened to one bot")
def events_list(request: HttpRequest, subscribed_bot_id: ObjectId):
    return monitoring.bot_event_list(user=request.auth, subscribed_bot_id=subscribed_bot_id)


@router.get("/bots/{subscribed_bot_id}/report", response=BotReportOut, summary="Report of one bot")
def report_bot(request: HttpRequest, subscribed_bot_id: ObjectId, filters: Query[RunTypeFilter]):
    return monitoring.report_for_bot(user=request.auth, subscribed_bot_id=subscribed_bot_id, run_type=filters.run_type)


@router.get("/reports/overall", response=dict[str, OverallReportOut], summary="All your bots, per run type")
def report_overall(request: HttpRequest):
    return monitoring.report_overall(user=request.auth)


@router.get("/reports/compare", response=dict[str, list[CompareRowOut]], summary="Your bots side by side")
def report_compare(request: HttpRequest, filters: Query[RunTypeFilter]):
    return monitoring.report_compare(user=request.auth, run_type=filters.run_type)
