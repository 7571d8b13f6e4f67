"""The tick engine: one candle for a batch of running bots, in one transaction.

    load the batch (one query, rows locked) → shared candle windows (Redis) → per bot: strategy step,
    stops, protections, paper fills → bulk write runtime rows, trades, orders, events → commit
    → live orders are placed after the commit (money-safe order layer)

Idempotent per (bot, candle): a row is only ticked when its `last_candle_at` is older than the candle,
and the new `last_candle_at` commits together with everything the tick decided (its paper fills, its
live orders in state "submitting"). A redelivered task finds the rows done and does nothing; a
concurrent duplicate skips the rows the first one holds locked.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from bots.models import FINAL_ORDER_STATUSES, Order
from core.errors import TemporaryError, ValidationError
from marketdata.series import Candles
from marketdata.timeframes import from_ms, timeframe_ms, to_ms
from trading.runtime.book import Book
from trading.runtime.candles import candle_window_get
from trading.runtime.persist import BotResult, persist_results
from trading.runtime.protections import ProtectionState
from trading.runtime.rows import BotRow, Profile, bot_rows_load, profile_for
from trading.runtime.step import CATCHUP_BARS, StepOutcome, bars_to_feed, bot_step, feed, warmup_bars
from trading.strategies.base import Bar, Strategy

logger = logging.getLogger(__name__)


@dataclass
class TickReport:
    timeframe: str
    candle_ms: int
    requested: int = 0
    ticked: int = 0
    skipped: int = 0  # not running, already ticked, or locked by a duplicate task
    traded: int = 0  # bots with at least one order
    orders: int = 0
    stopped: int = 0
    errors: int = 0
    waiting: list[int] = field(default_factory=list)  # bots whose candle is not available yet
    queries: int = 0  # database queries the batch made
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def strategy_for(name: str, settings: dict[str, Any]) -> Strategy:
    """A strategy instance for these settings, shared by every bot with the same settings (cached)."""
    return profile_for(name, json.dumps(settings, sort_keys=True, default=str), "{}").strategy


def _with_pending_orders(bot_ids: list[int]) -> set[int]:
    """Bots with an order still in flight: they wait (no new decision) until it is resolved."""
    return set(
        Order.objects.filter(subscribed_bot_id__in=bot_ids)
        .exclude(status__in=FINAL_ORDER_STATUSES)
        .values_list("subscribed_bot_id", flat=True)
    )


class Windows:
    """Candle windows of this batch, per market and size, each read once (shared through Redis)."""

    def __init__(self, timeframe: str, candle_ms: int, step_ms: int):
        self.timeframe = timeframe
        self.candle_ms = candle_ms
        self.step_ms = step_ms
        self._cache: dict[tuple[str, str, int], Candles | None] = {}
        self._last_bar: dict[tuple[str, str], list[Bar]] = {}
        self._warm: dict[tuple[Any, ...], tuple[Strategy, str]] = {}  # the strategy is kept so its id stays valid

    def get(self, exchange: str, symbol: str, size: int) -> Candles | None:
        key = (exchange, symbol, size)
        if key not in self._cache:
            self._cache[key] = candle_window_get(
                exchange=exchange, symbol=symbol, timeframe=self.timeframe, candle_ms=self.candle_ms, size=size
            )
        return self._cache[key]

    def bars_for(self, state: dict[str, Any] | None, exchange: str, symbol: str, warmup: int) -> tuple[
            dict[str, Any] | None, list[Bar]] | None:
        """(state, bars to feed) for a bot whose strategy state is `state`; None while the candle is missing."""
        last = state.get("last_ts") if state else None
        if last is not None and last == self.candle_ms - self.step_ms:  # the usual case: one new bar
            key = (exchange, symbol)
            if key not in self._last_bar:
                window = self.get(exchange, symbol, CATCHUP_BARS)
                if window is None:
                    return None
                self._last_bar[key] = bars_to_feed({"last_ts": last}, window, candle_ms=self.candle_ms,
                                                   step_ms=self.step_ms, warmup=CATCHUP_BARS)[1]
            return state, self._last_bar[key]
        behind = last is None or last < self.candle_ms - (CATCHUP_BARS - 1) * self.step_ms
        size = warmup if behind else CATCHUP_BARS
        window = self.get(exchange, symbol, size)
        if window is None:
            return None
        return bars_to_feed(state or {}, window, candle_ms=self.candle_ms, step_ms=self.step_ms, warmup=size)

    def warm(self, strategy: Strategy, exchange: str, symbol: str, bars: list[Bar]) -> dict[str, Any]:
        """A fresh strategy state fed with all but the last of `bars` — computed once per strategy
        instance (= settings) and market in this batch, copied for each bot (the state is plain JSON)."""
        key = (id(strategy), exchange, symbol, bars[0].ts, len(bars))
        if key not in self._warm:
            self._warm[key] = (strategy, json.dumps(feed(strategy, None, bars[:-1])[0]))
        return json.loads(self._warm[key][1])


def book_from(row: BotRow, profile: Profile) -> Book:
    from trading.runtime.book import TradeSums

    params = row.run_parameters
    units = row.position_amount if row.position_side == "long" else -row.position_amount
    return Book(
        balance=row.balance,
        units=units if row.position_side else Decimal(0),
        entry=row.position_entry_price or Decimal(0),
        target=row.position_target,
        stop_loss=row.stop_loss,
        take_profit=row.take_profit,
        leverage=profile.leverage,
        fee_rate=Decimal(str(params.get("fee_rate", "0.001"))),
        slippage_bps=Decimal(str(params.get("slippage_bps", "0"))),
        stop_loss_pct=profile.stop_loss_pct,
        take_profit_pct=profile.take_profit_pct,
        trade=TradeSums.from_json(row.trade_book),
    )


def guard_from(row: BotRow) -> ProtectionState:
    return ProtectionState(
        peak_equity=row.peak_equity, day=row.day, day_start_equity=row.day_start_equity,
        consecutive_stop_losses=row.consecutive_stop_losses, cooldown_until=row.cooldown_until,
        paused_until=row.paused_until,
    )


def _tick_one(row: BotRow, windows: Windows, now: datetime) -> BotResult | None:
    """Tick one bot; None when its candle is not available yet."""
    try:
        profile = row.profile()
    except ValidationError as exc:
        return BotResult(row=row, error=f"its settings are invalid: {exc.message}")
    strategy = profile.strategy
    market_note = _market_change(row, strategy.settings)
    found = windows.bars_for(row.strategy_state or None, row.exchange, row.symbol, warmup_bars(strategy))
    if found is None:
        return None
    state, bars = found
    if not bars:
        return BotResult(row=row, skipped=True)
    if state is None and len(bars) > 1:
        state, bars = windows.warm(strategy, row.exchange, row.symbol, bars), bars[-1:]
    book = book_from(row, profile)
    guard = guard_from(row)
    outcome: StepOutcome = bot_step(
        strategy=strategy, state=state, bars=bars, book=book, protection=profile.protection, guard=guard, now=now,
        paper=not row.is_live, step_ms=windows.step_ms,
    )
    return BotResult(row=row, outcome=outcome, book=book, guard=guard, settings=strategy.settings,
                     market_note=market_note)


def _market_change(row: BotRow, settings: dict[str, Any]) -> str:
    """Apply an edited symbol/timeframe when the bot is flat; while it holds a position it keeps its market."""
    symbol, timeframe = str(settings.get("symbol", row.symbol)), str(settings.get("timeframe", row.timeframe))
    if (symbol, timeframe) == (row.symbol, row.timeframe):
        return ""
    if row.position_side:
        return f"The new market {symbol} {timeframe} applies once the open {row.symbol} position is closed."
    row.symbol, row.timeframe = symbol, timeframe
    row.strategy_state = {}
    return f"Now trading {symbol} on {timeframe} candles."


class _QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):  # noqa: ANN001, ANN204 - Django's wrapper API
        self.count += 1
        return execute(sql, params, many, context)


def tick_batch(*, timeframe: str, candle_ms: int, bot_ids: list[int], now: datetime | None = None) -> TickReport:
    """Tick the given bots for the candle opening at `candle_ms` (it must have closed).

    Raises TemporaryError after committing when some bots' candle is not available yet, so the task
    retries just those (the others are done and will be skipped).
    """
    counter = _QueryCounter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        report = _tick_batch(timeframe=timeframe, candle_ms=candle_ms, bot_ids=bot_ids, now=now)
    report.queries = counter.count
    report.seconds = round(time.perf_counter() - started, 4)
    if report.waiting:
        raise TemporaryError(f"candle {candle_ms} not available yet for {len(report.waiting)} bots")
    return report


def _tick_batch(*, timeframe: str, candle_ms: int, bot_ids: list[int], now: datetime | None) -> TickReport:
    now = now or timezone.now()
    step_ms = timeframe_ms(timeframe)
    report = TickReport(timeframe=timeframe, candle_ms=candle_ms, requested=len(bot_ids))
    if to_ms(now) < candle_ms + step_ms:
        raise ValidationError("this candle has not closed yet", field="candle_ms")
    with transaction.atomic():
        rows = bot_rows_load(bot_ids, timeframe=timeframe, before=from_ms(candle_ms))
        report.skipped = len(bot_ids) - len(rows)
        pending = _with_pending_orders([row.subscribed_bot_id for row in rows]) if rows else set()
        windows = Windows(timeframe, candle_ms, step_ms)
        results: list[BotResult] = []
        resume: list[int] = []
        for row in rows:
            if row.pending_actions:  # live orders decided earlier and not all placed yet: place them first
                resume.append(row.subscribed_bot_id)
            if row.subscribed_bot_id in pending or row.pending_actions:
                report.skipped += 1
                continue
            result = _tick_one(row, windows, now)
            if result is None:
                report.waiting.append(row.subscribed_bot_id)
                continue
            results.append(result)
        summary = persist_results(results, candle_ms=candle_ms, now=now)
    report.ticked, report.traded, report.orders = summary.ticked, summary.traded, summary.orders
    report.stopped, report.errors = summary.stopped, summary.errors
    report.skipped += summary.skipped
    if summary.live_bots or resume:
        from trading.runtime.live import live_pending_execute

        live_pending_execute(summary.live_bots + resume)
    if report.waiting:
        logger.info("candle %s not available yet for %d bots; the task will retry", candle_ms, len(report.waiting))
    return report
