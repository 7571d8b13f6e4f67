"""Monitoring and reports of users' bots (reads only). Every selector takes the acting user.

Figures are always for one run type: simulation, dry-run (paper money) and live (real money) are never
added together. A run's yield is its P&L over its starting equity; the accumulated yield of a bot
compounds the yields of all its runs of one type, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from bots.models import (
    FINAL_ORDER_STATUSES,
    BotEvent,
    BotRun,
    BotRuntime,
    BotState,
    Order,
    RunStatus,
    RunType,
    SubscribedBot,
    Trade,
)
from bots.selectors import subscribed_bot_get_for_user, subscribed_bot_list_for_user
from core.errors import ValidationError
from users.models import User

ZERO = Decimal(0)
RECENT = 10
EQUITY_POINTS_MAX = 500


def _pct(numerator: Decimal, denominator: Decimal) -> Decimal:
    return (numerator / denominator * 100).quantize(Decimal("0.01")) if denominator else ZERO


def _run_type_checked(run_type: str | None) -> str | None:
    if run_type is not None and run_type not in RunType.values:
        raise ValidationError(f"run_type must be one of {', '.join(RunType.values)}", field="run_type")
    return run_type


# --- live status of one bot ------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionView:
    side: str
    amount: Decimal
    entry_price: Decimal | None
    mark_price: Decimal | None
    unrealized_pnl: Decimal


@dataclass(frozen=True)
class BotStatus:
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
    position: PositionView | None
    open_orders: list[Order]
    starting_equity: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    yield_pct: Decimal
    fees: Decimal
    trade_count: int
    last_candle_at: datetime | None
    last_tick_at: datetime | None
    lag_seconds: float | None  # from the close of the last ticked candle to its tick
    behind_seconds: float | None  # running bots: how long since the candle that should have ticked last
    recent_trades: list[Trade] = field(default_factory=list)
    recent_orders: list[Order] = field(default_factory=list)
    recent_events: list[BotEvent] = field(default_factory=list)


def _timeframe_seconds(timeframe: str) -> float | None:
    from marketdata.timeframes import TIMEFRAME_MS

    step = TIMEFRAME_MS.get(timeframe)
    return step / 1000 if step else None


def _status_from(subscribed_bot: SubscribedBot, runtime: BotRuntime | None, *, now: datetime) -> BotStatus:
    run_id = runtime.run_id if runtime else None
    step = _timeframe_seconds(runtime.timeframe) if runtime else None
    position = None
    unrealized = ZERO
    if runtime is not None and runtime.position_amount:
        # Equity is the wallet balance plus the open position marked at the last close (no fees in it).
        unrealized = runtime.equity - runtime.balance
        mark = None
        if runtime.position_entry_price and runtime.position_amount:
            sign = 1 if runtime.position_side == "long" else -1
            mark = runtime.position_entry_price + sign * unrealized / runtime.position_amount
        position = PositionView(
            side=runtime.position_side, amount=runtime.position_amount, entry_price=runtime.position_entry_price,
            mark_price=mark, unrealized_pnl=unrealized,
        )
    lag = behind = None
    if runtime is not None and runtime.last_candle_at and runtime.last_tick_at and step:
        lag = (runtime.last_tick_at - runtime.last_candle_at).total_seconds() - step
    if runtime is not None and step and subscribed_bot.state == BotState.RUNNING:
        last_due_close = now.timestamp() - now.timestamp() % step
        ticked_close = runtime.last_candle_at.timestamp() + step if runtime.last_candle_at else None
        behind = max(0.0, now.timestamp() - ticked_close) if ticked_close and ticked_close < last_due_close else 0.0
    orders = Order.objects.filter(subscribed_bot=subscribed_bot, run_id=run_id)
    events = BotEvent.objects.filter(subscribed_bot=subscribed_bot).order_by("-created_at", "-id")
    return BotStatus(
        subscribed_bot_id=subscribed_bot.pk,
        name=subscribed_bot.bot.name,
        state=subscribed_bot.state,
        state_reason=subscribed_bot.state_reason,
        state_changed_at=subscribed_bot.state_changed_at,
        run_type=subscribed_bot.run_type,
        run_id=run_id,
        exchange=runtime.exchange if runtime else "",
        symbol=runtime.symbol if runtime else "",
        timeframe=runtime.timeframe if runtime else "",
        position=position,
        open_orders=list(orders.exclude(status__in=FINAL_ORDER_STATUSES).order_by("-created_at")) if run_id else [],
        starting_equity=runtime.starting_equity if runtime else ZERO,
        equity=runtime.equity if runtime else ZERO,
        realized_pnl=runtime.realized_pnl if runtime else ZERO,
        unrealized_pnl=unrealized,
        yield_pct=_pct(runtime.equity - runtime.starting_equity, runtime.starting_equity) if runtime else ZERO,
        fees=runtime.fees if runtime else ZERO,
        trade_count=runtime.trade_count if runtime else 0,
        last_candle_at=runtime.last_candle_at if runtime else None,
        last_tick_at=runtime.last_tick_at if runtime else None,
        lag_seconds=lag,
        behind_seconds=behind,
        recent_trades=list(Trade.objects.filter(run_id=run_id).order_by("-opened_at", "-id")[:RECENT]),
        recent_orders=list(orders.order_by("-created_at", "-id")[:RECENT]) if run_id else [],
        recent_events=list(events[:RECENT]),
    )


def bot_status_get(*, user: User, subscribed_bot_id: int, now: datetime | None = None) -> BotStatus:
    """State, run type, position, open orders, P&L, yield since start, fees, last tick and lag of one bot
    (the current or last dry/live run)."""
    subscribed_bot = subscribed_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    runtime = BotRuntime.objects.filter(subscribed_bot=subscribed_bot).first()
    return _status_from(subscribed_bot, runtime, now=now or timezone.now())


@dataclass(frozen=True)
class BotStatusRow:
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


def bot_status_list(*, user: User) -> list[BotStatusRow]:
    """One line per bot of the user, for a dashboard (two queries whatever the number of bots)."""
    bots = list(subscribed_bot_list_for_user(user=user))
    runtimes = {row.subscribed_bot_id: row for row in BotRuntime.objects.filter(subscribed_bot__in=bots)}
    rows = []
    for subscribed_bot in bots:
        runtime = runtimes.get(subscribed_bot.pk)
        rows.append(
            BotStatusRow(
                subscribed_bot_id=subscribed_bot.pk,
                name=subscribed_bot.bot.name,
                state=subscribed_bot.state,
                state_reason=subscribed_bot.state_reason,
                run_type=subscribed_bot.run_type,
                symbol=runtime.symbol if runtime else "",
                timeframe=runtime.timeframe if runtime else "",
                position_side=runtime.position_side if runtime else "",
                equity=runtime.equity if runtime else ZERO,
                yield_pct=_pct(runtime.equity - runtime.starting_equity, runtime.starting_equity) if runtime else ZERO,
                trade_count=runtime.trade_count if runtime else 0,
                last_tick_at=runtime.last_tick_at if runtime else None,
            )
        )
    return rows


# --- reports ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFigures:
    run_id: int
    run_type: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    starting_equity: Decimal
    pnl: Decimal  # realised (closed trades, after fees) + unrealised of a running dry/live run
    fees: Decimal
    trade_count: int

    @property
    def yield_pct(self) -> Decimal:
        return _pct(self.pnl, self.starting_equity)


@dataclass(frozen=True)
class BotReport:
    subscribed_bot_id: int
    name: str
    run_type: str
    current: RunFigures | None  # the latest run of this type
    accumulated_yield_pct: Decimal  # all runs of this type, compounded
    total_pnl: Decimal
    fees: Decimal
    trade_count: int
    run_count: int
    recent_trades: list[Trade]
    equity_series: list[tuple[datetime, Decimal]]  # the latest run: start, each closed trade, now


def _starting_equity(run: BotRun, runtime: BotRuntime | None) -> Decimal:
    if runtime is not None and runtime.run_id == run.pk and runtime.starting_equity:
        return runtime.starting_equity
    params = run.parameters or {}
    for key in ("starting_equity", "starting_balance", "balance", "initial_balance"):
        if params.get(key) not in (None, ""):
            return Decimal(str(params[key]))
    return ZERO


def _figures(runs: list[BotRun], runtime: BotRuntime | None) -> list[RunFigures]:
    """Per-run figures from two aggregate queries (trades of all the runs at once)."""
    closed = {
        row["run_id"]: row
        for row in Trade.objects.filter(run__in=runs)
        .values("run_id")
        .annotate(pnl=Sum("realized_pnl", filter=Q(is_open=False)), fee=Sum("fee"), count=Count("id"))
    }
    figures = []
    for run in runs:
        agg = closed.get(run.pk, {})
        pnl = agg.get("pnl") or ZERO
        fees = agg.get("fee") or ZERO
        if runtime is not None and runtime.run_id == run.pk and run.status == RunStatus.RUNNING:
            pnl = runtime.equity - runtime.starting_equity  # includes the open position, marked
            fees = max(fees, runtime.fees)
        figures.append(
            RunFigures(
                run_id=run.pk, run_type=run.run_type, status=run.status, started_at=run.started_at,
                finished_at=run.finished_at, starting_equity=_starting_equity(run, runtime), pnl=pnl, fees=fees,
                trade_count=agg.get("count") or 0,
            )
        )
    return figures


def _compound(figures: list[RunFigures]) -> Decimal:
    growth = Decimal(1)
    for run in figures:
        if run.starting_equity:
            growth *= 1 + run.pnl / run.starting_equity
    return ((growth - 1) * 100).quantize(Decimal("0.01"))


def _equity_series(run: RunFigures, runtime: BotRuntime | None, now: datetime) -> list[tuple[datetime, Decimal]]:
    start = run.started_at or now
    equity = run.starting_equity
    points = [(start, equity)]
    closes = (
        Trade.objects.filter(run_id=run.run_id, is_open=False, closed_at__isnull=False)
        .order_by("closed_at", "id")
        .values_list("closed_at", "realized_pnl")
    )
    for closed_at, pnl in closes:
        equity += pnl
        points.append((closed_at, equity))
    if runtime is not None and runtime.run_id == run.run_id and run.status == RunStatus.RUNNING:
        points.append((runtime.last_tick_at or now, runtime.equity))
    elif run.finished_at:
        points.append((run.finished_at, equity))
    if len(points) > EQUITY_POINTS_MAX:  # keep the first, the last and evenly spaced ones between
        step = len(points) / (EQUITY_POINTS_MAX - 1)
        points = [points[int(i * step)] for i in range(EQUITY_POINTS_MAX - 1)] + [points[-1]]
    return points


def _bot_report(subscribed_bot: SubscribedBot, run_type: str, *, now: datetime) -> BotReport:
    runs = list(
        BotRun.objects.filter(subscribed_bot=subscribed_bot, run_type=run_type)
        .exclude(status__in=(RunStatus.QUEUED, RunStatus.FAILED, RunStatus.CANCELLED))
        .order_by("created_at", "id")
    )
    runtime = BotRuntime.objects.filter(subscribed_bot=subscribed_bot).first()
    figures = _figures(runs, runtime)
    current = figures[-1] if figures else None
    return BotReport(
        subscribed_bot_id=subscribed_bot.pk,
        name=subscribed_bot.bot.name,
        run_type=run_type,
        current=current,
        accumulated_yield_pct=_compound(figures),
        total_pnl=sum((run.pnl for run in figures), ZERO),
        fees=sum((run.fees for run in figures), ZERO),
        trade_count=sum(run.trade_count for run in figures),
        run_count=len(figures),
        recent_trades=list(
            Trade.objects.filter(run__in=runs).order_by("-opened_at", "-id")[:RECENT]
        ),
        equity_series=_equity_series(current, runtime, now) if current else [],
    )


def report_for_bot(*, user: User, subscribed_bot_id: int, run_type: str | None = None) -> BotReport:
    """Report of one bot for one run type (default: the type it is set to run as now)."""
    subscribed_bot = subscribed_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    run_type = _run_type_checked(run_type) or subscribed_bot.run_type
    return _bot_report(subscribed_bot, run_type, now=timezone.now())


@dataclass(frozen=True)
class OverallReport:
    run_type: str
    bot_count: int
    starting_equity: Decimal  # of the bots' latest runs
    pnl: Decimal  # of the latest runs
    yield_pct: Decimal
    accumulated_pnl: Decimal  # all runs
    fees: Decimal
    trade_count: int
    recent_trades: list[Trade]
    equity_series: list[tuple[datetime, Decimal]]  # latest runs together: start, each closed trade, now


def report_overall(*, user: User) -> dict[str, OverallReport]:
    """The user's bots together, one report per run type that has any runs (never mixed)."""
    now = timezone.now()
    reports: dict[str, OverallReport] = {}
    bots = list(subscribed_bot_list_for_user(user=user, include_ended=True))
    used = set(BotRun.objects.filter(subscribed_bot__in=bots).values_list("run_type", flat=True).distinct())
    for run_type in [value for value in RunType.values if value in used]:
        bot_reports = [_bot_report(bot, run_type, now=now) for bot in bots]
        bot_reports = [report for report in bot_reports if report.current is not None]
        if not bot_reports:
            continue
        starting = sum((report.current.starting_equity for report in bot_reports), ZERO)
        pnl = sum((report.current.pnl for report in bot_reports), ZERO)
        reports[run_type] = OverallReport(
            run_type=run_type,
            bot_count=len(bot_reports),
            starting_equity=starting,
            pnl=pnl,
            yield_pct=_pct(pnl, starting),
            accumulated_pnl=sum((report.total_pnl for report in bot_reports), ZERO),
            fees=sum((report.fees for report in bot_reports), ZERO),
            trade_count=sum(report.trade_count for report in bot_reports),
            recent_trades=list(
                Trade.objects.filter(subscribed_bot__in=bots, run_type=run_type).order_by("-opened_at", "-id")[:RECENT]
            ),
            equity_series=_combined_series(bot_reports, starting),
        )
    return reports


def _combined_series(bot_reports: list[BotReport], starting: Decimal) -> list[tuple[datetime, Decimal]]:
    """Sum of the bots' latest-run equity curves: each step changes the total by that bot's change."""
    changes: list[tuple[datetime, Decimal]] = []
    for report in bot_reports:
        previous = None
        for moment, equity in report.equity_series:
            if previous is not None:
                changes.append((moment, equity - previous))
            previous = equity
    changes.sort(key=lambda item: item[0])
    first = min((report.equity_series[0][0] for report in bot_reports if report.equity_series), default=None)
    if first is None:
        return []
    total = starting
    points = [(first, total)]
    for moment, change in changes:
        total += change
        points.append((moment, total))
    if len(points) > EQUITY_POINTS_MAX:
        step = len(points) / (EQUITY_POINTS_MAX - 1)
        points = [points[int(i * step)] for i in range(EQUITY_POINTS_MAX - 1)] + [points[-1]]
    return points


@dataclass(frozen=True)
class CompareRow:
    subscribed_bot_id: int
    name: str
    state: str
    run_type: str
    yield_pct: Decimal  # latest run
    accumulated_yield_pct: Decimal
    pnl: Decimal
    fees: Decimal
    trade_count: int
    win_rate_pct: Decimal | None
    max_drawdown_pct: Decimal  # of the latest run's equity series


def _max_drawdown(series: list[tuple[datetime, Decimal]]) -> Decimal:
    peak, worst = None, ZERO
    for _, equity in series:
        peak = equity if peak is None else max(peak, equity)
        if peak:
            worst = max(worst, (peak - equity) / peak * 100)
    return worst.quantize(Decimal("0.01"))


def report_compare(*, user: User, run_type: str | None = None) -> dict[str, list[CompareRow]]:
    """The user's bots side by side, best latest-run yield first, one table per run type.

    With `run_type`, only that table. Bots without a run of a type are left out of its table.
    """
    run_type = _run_type_checked(run_type)
    now = timezone.now()
    bots = list(subscribed_bot_list_for_user(user=user))
    types = [run_type] if run_type else RunType.values
    tables: dict[str, list[CompareRow]] = {}
    for kind in types:
        rows = []
        for subscribed_bot in bots:
            report = _bot_report(subscribed_bot, kind, now=now)
            if report.current is None:
                continue
            wins = Trade.objects.filter(run_id=report.current.run_id, is_open=False).aggregate(
                won=Count("id", filter=Q(realized_pnl__gt=0)), closed=Count("id")
            )
            rows.append(
                CompareRow(
                    subscribed_bot_id=subscribed_bot.pk, name=subscribed_bot.bot.name, state=subscribed_bot.state,
                    run_type=kind, yield_pct=report.current.yield_pct,
                    accumulated_yield_pct=report.accumulated_yield_pct, pnl=report.current.pnl,
                    fees=report.current.fees, trade_count=report.current.trade_count,
                    win_rate_pct=_pct(Decimal(wins["won"]), Decimal(wins["closed"])) if wins["closed"] else None,
                    max_drawdown_pct=_max_drawdown(report.equity_series),
                )
            )
        if rows:
            tables[kind] = sorted(rows, key=lambda row: row.yield_pct, reverse=True)
    return tables


def bot_event_list(*, user: User, subscribed_bot_id: int, limit: int = 100) -> list[BotEvent]:
    """The bot's latest events (started, stopped, fills, protections, errors), newest first."""
    subscribed_bot = subscribed_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    return list(BotEvent.objects.filter(subscribed_bot=subscribed_bot).order_by("-created_at", "-id")[:limit])
