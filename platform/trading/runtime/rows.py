"""The tick's view of a bot: one flat record per bot, loaded for a whole batch with one query.

Building Django model instances for the runtime row, its subscribed bot, the catalog bot and the run
(four per bot) cost more than the tick itself; a batch is loaded with `values_list` into `BotRow`s
instead, and written back with `persist.runtime_bulk_update`, which reads the same attribute names as
the BotRuntime columns. Settings and run parameters arrive as JSON text and are decoded only when the
process has not seen that text before (they rarely change; the caches are small).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db.models import F, Q, TextField
from django.db.models.functions import Cast

from bots.models import BotRuntime, BotState
from trading.runtime.protections import ProtectionSettings
from trading.strategies.base import Strategy


@dataclass(frozen=True)
class Profile:
    """Everything derived from a bot's effective settings, shared by every bot with the same settings."""

    strategy: Strategy
    protection: ProtectionSettings
    leverage: int
    stop_loss_pct: Decimal
    take_profit_pct: Decimal

    @property
    def settings(self) -> dict[str, Any]:
        return self.strategy.settings


@lru_cache(maxsize=4096)
def profile_for(strategy_name: str, default_text: str, overrides_text: str) -> Profile:
    """The profile of a (strategy, catalog defaults, user overrides) triple, as JSON texts.

    Raises core.errors.ValidationError when the merged settings are invalid (the bot then errors).
    """
    from trading.strategies.registry import strategy_get

    settings = {**json.loads(default_text or "{}"), **json.loads(overrides_text or "{}")}
    strategy = strategy_get(strategy_name)(settings)
    resolved = strategy.settings
    return Profile(
        strategy=strategy,
        protection=ProtectionSettings.from_settings(resolved),
        leverage=int(resolved.get("leverage", 1)),
        stop_loss_pct=Decimal(str(resolved.get("stop_loss_pct", 0))),
        take_profit_pct=Decimal(str(resolved.get("take_profit_pct", 0))),
    )


@lru_cache(maxsize=4096)
def _json(text: str | None) -> Any:
    return json.loads(text) if text else {}


def run_parameters(text: str | None) -> dict[str, Any]:
    """A run's parameters, decoded once per distinct text (treat as read-only)."""
    return _json(text)


@dataclass(slots=True)
class BotRow:
    # identity and catalog
    subscribed_bot_id: int
    user_id: int
    bot_name: str
    strategy_name: str
    default_text: str
    overrides_text: str
    run_id: int | None
    run_type: str
    run_parameters_text: str
    # runtime columns (names = BotRuntime attnames, so runtime_bulk_update can read them)
    exchange: str
    symbol: str
    timeframe: str
    last_candle_at: datetime | None
    last_tick_at: datetime | None
    strategy_state: dict[str, Any]
    position_side: str
    position_amount: Decimal
    position_entry_price: Decimal | None
    position_target: float
    stop_loss: Decimal | None
    take_profit: Decimal | None
    open_trade_id: int | None
    starting_equity: Decimal
    balance: Decimal
    trade_book: dict[str, Any]
    equity: Decimal
    peak_equity: Decimal
    realized_pnl: Decimal
    fees: Decimal
    trade_count: int
    consecutive_stop_losses: int
    cooldown_until: datetime | None
    day: date | None
    day_start_equity: Decimal
    paused_until: datetime | None
    failed_ticks: int
    pending_actions: list[Any] = field(default_factory=list)

    @property
    def run_parameters(self) -> dict[str, Any]:
        return run_parameters(self.run_parameters_text)

    @property
    def is_live(self) -> bool:
        return self.run_type == "live"

    def profile(self) -> Profile:
        return profile_for(self.strategy_name, self.default_text, self.overrides_text)


_RUNTIME_COLUMNS = (
    "exchange", "symbol", "timeframe", "last_candle_at", "last_tick_at", "strategy_state", "position_side",
    "position_amount", "position_entry_price", "position_target", "stop_loss", "take_profit", "open_trade_id",
    "starting_equity", "balance", "trade_book", "equity", "peak_equity", "realized_pnl", "fees", "trade_count",
    "consecutive_stop_losses", "cooldown_until", "day", "day_start_equity", "paused_until", "failed_ticks",
    "pending_actions",
)


def bot_rows_load(
    bot_ids: list[int], *, timeframe: str | None = None, before: datetime | None = None, running_only: bool = True,
    lock: bool = True,
) -> list[BotRow]:
    """Load (and lock, skipping rows another transaction holds) the runtime rows of `bot_ids`.

    With `timeframe`/`before`: only rows on that timeframe whose last candle is older than `before`.
    """
    rows = BotRuntime.objects.filter(subscribed_bot_id__in=bot_ids)
    if lock:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    if running_only:
        rows = rows.filter(subscribed_bot__state=BotState.RUNNING)
    if timeframe is not None:
        rows = rows.filter(timeframe=timeframe)
    if before is not None:
        rows = rows.filter(Q(last_candle_at__isnull=True) | Q(last_candle_at__lt=before))
    values = rows.order_by("subscribed_bot_id").values_list(
        "subscribed_bot_id", "subscribed_bot__user_id", "subscribed_bot__bot__name", "subscribed_bot__bot__strategy",
        Cast("subscribed_bot__bot__default_setting", TextField()),
        Cast("subscribed_bot__user_bot_setting", TextField()),
        "run_id", F("run__run_type"), Cast("run__parameters", TextField()),
        *_RUNTIME_COLUMNS,
    )
    return [BotRow(*[value if value is not None or index not in _TEXT_INDEXES else "" for index, value in
                     enumerate(row)]) for row in values]


_TEXT_INDEXES = frozenset({4, 5, 7, 8})  # JSON texts and run type: "" rather than None
