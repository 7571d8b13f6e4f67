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
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bots.models import FINAL_ORDER_STATUSES, BotRuntime, BotState, Order
from core.errors import TemporaryError, ValidationError
from marketdata.series import Candles
from marketdata.timeframes import from_ms, timeframe_ms, to_ms
from trading.runtime.book import Book
from trading.runtime.candles import candle_window_get
from trading.runtime.persist import BotResult, persist_results
from trading.runtime.protections import ProtectionSettings, ProtectionState
from trading.runtime.step import CATCHUP_BARS, StepOutcome, bars_to_feed, bot_step, warmup_bars
from trading.strategies.base import Strategy

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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=8192)
def _strategy(name: str, settings_json: str) -> Strategy:
    from trading.strategies.registry import strategy_get

    return strategy_get(name)(json.loads(settings_json))


def strategy_for(name: str, settings: dict[str, Any]) -> Strategy:
    """A strategy instance per distinct (strategy, settings) — shared by every bot with those settings.

    Settings are read at every tick, so an edit applies at the bot's next tick without a restart.
    """
    return _strategy(name, json.dumps(settings, sort_keys=True, default=str))


def _load(bot_ids: list[int], timeframe: str, candle_ms: int) -> list[BotRuntime]:
    candle_at = from_ms(candle_ms)
    return list(
        BotRuntime.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("subscribed_bot__bot", "run")
        .filter(subscribed_bot_id__in=bot_ids, timeframe=timeframe, subscribed_bot__state=BotState.RUNNING)
        .filter(Q(last_candle_at__isnull=True) | Q(last_candle_at__lt=candle_at))
        .order_by("subscribed_bot_id")
    )


def _with_pending_orders(bot_ids: list[int]) -> set[int]:
    """Bots with an order still in flight: they wait (no new decision) until it is resolved."""
    return set(
        Order.objects.filter(subscribed_bot_id__in=bot_ids)
        .exclude(status__in=FINAL_ORDER_STATUSES)
        .values_list("subscribed_bot_id", flat=True)
    )


class Windows:
    """Candle windows of this batch, per market and size, each read once (shared through Redis)."""

    def __init__(self, timeframe: str, candle_ms: int):
        self.timeframe = timeframe
        self.candle_ms = candle_ms
        self._cache: dict[tuple[str, str, int], Candles | None] = {}

    def get(self, exchange: str, symbol: str, size: int) -> Candles | None:
        key = (exchange, symbol, size)
        if key not in self._cache:
            self._cache[key] = candle_window_get(
                exchange=exchange, symbol=symbol, timeframe=self.timeframe, candle_ms=self.candle_ms, size=size
            )
        return self._cache[key]


def book_from(row: BotRuntime, settings: dict[str, Any]) -> Book:
    from trading.runtime.book import TradeSums

    params = row.run.parameters if row.run else {}
    units = row.position_amount if row.position_side == "long" else -row.position_amount
    return Book(
        balance=row.balance,
        units=units if row.position_side else Decimal(0),
        entry=row.position_entry_price or Decimal(0),
        target=row.position_target,
        stop_loss=row.stop_loss,
        take_profit=row.take_profit,
        leverage=int(settings.get("leverage", 1)),
        fee_rate=Decimal(str(params.get("fee_rate", "0.001"))),
        slippage_bps=Decimal(str(params.get("slippage_bps", "0"))),
        stop_loss_pct=Decimal(str(settings.get("stop_loss_pct", 0))),
        take_profit_pct=Decimal(str(settings.get("take_profit_pct", 0))),
        trade=TradeSums.from_json(row.trade_book),
    )


def guard_from(row: BotRuntime) -> ProtectionState:
    return ProtectionState(
        peak_equity=row.peak_equity, day=row.day, day_start_equity=row.day_start_equity,
        consecutive_stop_losses=row.consecutive_stop_losses, cooldown_until=row.cooldown_until,
        paused_until=row.paused_until,
    )


def _tick_one(row: BotRuntime, windows: Windows, now: datetime, step_ms: int) -> BotResult | None:
    """Tick one bot; None when its candle is not available yet."""
    from bots.selectors import subscribed_bot_effective_settings

    subscribed_bot = row.subscribed_bot
    settings = subscribed_bot_effective_settings(subscribed_bot=subscribed_bot)
    try:
        strategy = strategy_for(subscribed_bot.bot.strategy, settings)
    except ValidationError as exc:
        return BotResult(row=row, error=f"its settings are invalid: {exc.message}")
    market_note = _market_change(row, strategy.settings)
    state = row.strategy_state or None
    last = state.get("last_ts") if state else None
    behind = last is None or last < windows.candle_ms - (CATCHUP_BARS - 1) * step_ms
    size = warmup_bars(strategy) if behind else CATCHUP_BARS
    window = windows.get(row.exchange, row.symbol, size)
    if window is None:
        return None
    state, bars = bars_to_feed(state or {}, window, candle_ms=windows.candle_ms, step_ms=step_ms, warmup=size)
    if not bars:
        return BotResult(row=row, skipped=True)
    book = book_from(row, strategy.settings)
    guard = guard_from(row)
    outcome: StepOutcome = bot_step(
        strategy=strategy, state=state, bars=bars, book=book,
        protection=ProtectionSettings.from_settings(strategy.settings), guard=guard, now=now,
        paper=row.run.run_type != "live" if row.run else True, step_ms=step_ms,
    )
    return BotResult(row=row, outcome=outcome, book=book, guard=guard, settings=strategy.settings,
                     market_note=market_note)


def _market_change(row: BotRuntime, settings: dict[str, Any]) -> str:
    """Apply an edited symbol/timeframe when the bot is flat; while it holds a position it keeps its market."""
    symbol, timeframe = str(settings.get("symbol", row.symbol)), str(settings.get("timeframe", row.timeframe))
    if (symbol, timeframe) == (row.symbol, row.timeframe):
        return ""
    if row.position_side:
        return f"The new market {symbol} {timeframe} applies once the open {row.symbol} position is closed."
    row.symbol, row.timeframe = symbol, timeframe
    row.strategy_state = {}
    return f"Now trading {symbol} on {timeframe} candles."


def tick_batch(*, timeframe: str, candle_ms: int, bot_ids: list[int], now: datetime | None = None) -> TickReport:
    """Tick the given bots for the candle opening at `candle_ms` (it must have closed).

    Raises TemporaryError after committing when some bots' candle is not available yet, so the task
    retries just those (the others are done and will be skipped).
    """
    now = now or timezone.now()
    step_ms = timeframe_ms(timeframe)
    report = TickReport(timeframe=timeframe, candle_ms=candle_ms, requested=len(bot_ids))
    if to_ms(now) < candle_ms + step_ms:
        raise ValidationError("this candle has not closed yet", field="candle_ms")
    with transaction.atomic():
        rows = _load(bot_ids, timeframe, candle_ms)
        report.skipped = len(bot_ids) - len(rows)
        pending = _with_pending_orders([row.subscribed_bot_id for row in rows]) if rows else set()
        windows = Windows(timeframe, candle_ms)
        results: list[BotResult] = []
        for row in rows:
            if row.subscribed_bot_id in pending:
                report.skipped += 1
                continue
            result = _tick_one(row, windows, now, step_ms)
            if result is None:
                report.waiting.append(row.subscribed_bot_id)
                continue
            results.append(result)
        summary = persist_results(results, candle_ms=candle_ms, now=now)
    report.ticked, report.traded, report.orders = summary.ticked, summary.traded, summary.orders
    report.stopped, report.errors = summary.stopped, summary.errors
    report.skipped += summary.skipped
    if summary.live_bots:
        from trading.runtime.execution import live_orders_execute

        live_orders_execute(summary.live_bots, candle_ms=candle_ms)
    if report.waiting:
        by_market: dict[str, int] = defaultdict(int)
        for row in rows:
            if row.subscribed_bot_id in report.waiting:
                by_market[f"{row.exchange} {row.symbol}"] += 1
        raise TemporaryError(f"candle {candle_ms} not available yet for {dict(by_market)}")
    return report
