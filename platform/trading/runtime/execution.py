"""What START and STOP do on the account, and placing a live tick's orders.

Dry-run trades paper money with the simulator's fill model (trading.fills): START opens a paper
account of the bot's capital; STOP closes its position at the last price (or keeps it). Live-run uses
the exchange through the live gateway pool and the money-safe order layer (trading.orders).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from bots.models import BotRun, BotRuntime, RunType, SubscribedBot
from marketdata.timeframes import to_ms
from trading.fills import fee_for
from trading.runtime.persist import _Writer, runtime_bulk_update
from trading.runtime.step import PlannedOrder, StepOutcome
from trading.strategies.base import Decision

logger = logging.getLogger(__name__)

DEFAULT_PAPER_CAPITAL = Decimal("10000")
# Dry-run fills like a simulation with default money settings (see README "Simulation").
DEFAULT_PAPER_FEE_RATE = "0.001"
DEFAULT_PAPER_SLIPPAGE_BPS = "0"


@dataclass(frozen=True)
class PaperMoney:
    capital: Decimal
    fee_rate: str
    slippage_bps: str


def paper_money(settings: dict[str, Any]) -> PaperMoney:
    capital = Decimal(str(settings.get("capital") or 0)) or Decimal(
        str(getattr(django_settings, "RUNTIME_PAPER_CAPITAL", DEFAULT_PAPER_CAPITAL)))
    return PaperMoney(
        capital=capital,
        fee_rate=str(getattr(django_settings, "RUNTIME_PAPER_FEE_RATE", DEFAULT_PAPER_FEE_RATE)),
        slippage_bps=str(getattr(django_settings, "RUNTIME_PAPER_SLIPPAGE_BPS", DEFAULT_PAPER_SLIPPAGE_BPS)),
    )


def execution_start(*, subscribed_bot: SubscribedBot, run: BotRun, runtime: BotRuntime) -> Decimal:
    """Prepare the account for a new run; returns its starting equity (the bot's capital)."""
    settings = run.setting_snapshot or {}
    if run.run_type == RunType.LIVE:
        from trading.runtime.live import live_start

        return live_start(subscribed_bot=subscribed_bot, run=run, runtime=runtime)
    money = paper_money(settings)
    run.parameters = {**run.parameters, "fee_rate": money.fee_rate, "slippage_bps": money.slippage_bps,
                      "capital": str(money.capital)}
    run.save(update_fields=["parameters", "updated_at"])
    runtime.balance = money.capital
    return money.capital


def execution_stop(*, subscribed_bot: SubscribedBot, run: BotRun, runtime: BotRuntime, close_position: bool) -> None:
    """Cancel what the bot has open and close (or keep) its position."""
    if run.run_type == RunType.LIVE:
        from trading.runtime.live import live_stop

        live_stop(subscribed_bot=subscribed_bot, run=run, runtime=runtime, close_position=close_position)
        return
    if close_position and runtime.position_side:
        paper_close_at_last_price(subscribed_bot_id=subscribed_bot.pk, purpose="stop")


def last_mark(row: Any) -> Decimal | None:
    """The close of the last ticked candle, recovered from the equity marked at that tick."""
    if not row.position_amount or row.position_entry_price is None:
        return None
    units = row.position_amount if row.position_side == "long" else -row.position_amount
    return row.position_entry_price + (row.equity - row.balance) / units


@transaction.atomic
def paper_close_at_last_price(*, subscribed_bot_id: int, purpose: str) -> None:
    """Close a dry-run position at the last price, as a market order would (fill model, fees)."""
    from trading.runtime.engine import book_from
    from trading.runtime.rows import bot_rows_load

    rows = bot_rows_load([subscribed_bot_id], running_only=False)
    mark = last_mark(rows[0]) if rows else None
    if mark is None:
        return
    row = rows[0]
    book = book_from(row, row.profile())
    side = "sell" if book.units > 0 else "buy"
    price = book.fill_price(mark, side)
    planned = PlannedOrder(purpose, side, abs(book.units), True, mark)
    planned.fill = book.book_close(price=price, fee=fee_for(price, abs(book.units), book.fee_rate), purpose=purpose)
    now = timezone.now()
    writer = _Writer(candle_ms=to_ms(now), now=now)
    writer.paper(row, StepOutcome(strategy_state=row.strategy_state, fed_bars=0, decision=Decision(),
                                  equity=book.equity(mark), orders=[planned]), book)
    row.equity = book.equity(mark)
    writer.flush([])
    runtime_bulk_update([row], ("equity",))

