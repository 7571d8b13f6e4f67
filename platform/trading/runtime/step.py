"""One bot, one closed candle: feed the strategy, check stops, apply protections, decide the orders.

Pure over in-memory values (no database, no network): the engine loads a batch, calls `bot_step` per
bot and persists the outcomes in bulk. The rules are the simulator's (trading.engine):

1. the open position's stop-loss / take-profit / liquidation are checked against this bar's range
   (it was entered at an earlier tick, i.e. at this bar's open or before) — `trading.fills.bar_exit`;
2. the strategy sees the bar (`Strategy.step`); its decision is turned into intents by
   `trading.strategies.base.intents_for` against the position;
3. orders fill at this bar's close moved by slippage (the simulator fills at the next bar's open:
   the same price for a continuous market), sized from the wallet balance by `trading.fills`.

Protections sit between 2 and 3: a stop or a daily-loss flatten closes the position instead; a
cooldown or pause drops entries.

In dry-run the fills are computed here with the fill model (paper trading: nothing leaves the
process). In live-run `paper=False` and the decided orders are returned as `live_orders` for the
engine to place through the money-safe order layer after the tick's transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from marketdata.series import Candles
from trading.fills import bar_exit, fee_for
from trading.runtime.book import ZERO, Book, D, FillResult
from trading.runtime.protections import (
    ProtectionSettings,
    ProtectionState,
    Verdict,
    protections_on_tick,
    protections_on_trade_closed,
)
from trading.strategies.base import Bar, Decision, Intent, PositionView, Strategy, intents_for

CATCHUP_BARS = 16  # a bot up to this many bars behind catches up from the short shared window
WARMUP_MAX_BARS = 4096


def warmup_bars(strategy: Strategy) -> int:
    """Bars fed to a bot's fresh strategy state before its first decision (a power of two, so bots of
    different strategies share the same Redis window)."""
    need = max(2 * int(strategy.warmup()) + 10, 64)
    size = 64
    while size < need and size < WARMUP_MAX_BARS:
        size *= 2
    return size


@dataclass
class PlannedOrder:
    """A fill (paper) or an order to place (live), in the order they happen."""

    purpose: str  # entry | increase | reduce | exit | stop_loss | take_profit | liquidation | protection
    side: str
    amount: Decimal
    reduce_only: bool
    reference_price: Decimal
    fill: FillResult | None = None  # paper only
    intent: Intent | None = None
    fill_ms: int = 0  # paper: when the fill model says it filled (a stop: its bar's open; else the close)


@dataclass
class StepOutcome:
    strategy_state: dict[str, Any]
    fed_bars: int
    decision: Decision
    equity: Decimal
    orders: list[PlannedOrder] = field(default_factory=list)
    notices: list[Verdict] = field(default_factory=list)  # protections that triggered now (user is told)
    stop: Verdict | None = None


def bars_to_feed(state: dict[str, Any], window: Candles, *, candle_ms: int, step_ms: int, warmup: int) -> tuple[
        dict[str, Any] | None, list[Bar]]:
    """The bars the strategy has not seen yet, ending with the candle; (None, bars) means start over
    (a fresh bot, or one further behind than the window reaches)."""
    last = state.get("last_ts") if state else None
    ts = window.ts
    if last is not None and last >= candle_ms:
        return state, []
    if last is not None and len(ts) and int(ts[0]) <= last + step_ms:
        start = int((ts > last).argmax()) if (ts > last).any() else len(ts)
        return state, _bars(window, start, len(ts))
    return None, _bars(window, max(0, len(ts) - warmup), len(ts))


def _bars(window: Candles, start: int, stop: int) -> list[Bar]:
    return [
        Bar(int(window.ts[i]), float(window.open[i]), float(window.high[i]), float(window.low[i]),
            float(window.close[i]), float(window.volume[i]))
        for i in range(start, stop)
    ]


def feed(strategy: Strategy, state: dict[str, Any] | None, bars: list[Bar]) -> tuple[dict[str, Any], Decision]:
    """Step the strategy through `bars`; only the last bar's decision counts (earlier ones are history)."""
    current = state if state else strategy.initial_state()
    decision = Decision()
    for bar in bars:
        current, decision = strategy.step(current, bar)
    return current, decision


def position_view(book: Book) -> PositionView:
    if not book.units:
        return PositionView()
    return PositionView(side=book.side, amount=float(abs(book.units)), entry_price=float(book.entry),
                        target=book.target)


def _paper_fill(book: Book, planned: PlannedOrder, *, price: Decimal) -> Decimal:
    return fee_for(price, planned.amount, book.fee_rate)


def bot_step(
    *,
    strategy: Strategy,
    state: dict[str, Any] | None,
    bars: list[Bar],
    book: Book,
    protection: ProtectionSettings,
    guard: ProtectionState,
    now: datetime,
    paper: bool,
    step_ms: int,
) -> StepOutcome:
    """Everything one bot does at one closed candle (`bars[-1]`); mutates `book` and `guard`."""
    bar = bars[-1]
    new_state, decision = feed(strategy, state, bars)
    outcome = StepOutcome(strategy_state=new_state, fed_bars=len(bars), decision=decision, equity=ZERO)
    _check_stops(book, bar, outcome, protection, guard, now, paper)
    stop_fills = len(outcome.orders)
    close = D(bar.close)
    outcome.equity = book.equity(close)
    verdict = protections_on_tick(protection, guard, now=now, equity=outcome.equity)
    if verdict.triggered:
        outcome.notices.append(verdict)
    if verdict.stop:
        outcome.stop = verdict
    if verdict.stop or verdict.flatten:
        if book.units:
            _close(book, outcome, close, "protection", protection, guard, now, paper)
    elif outcome.stop is None:
        for intent in intents_for(decision, position_view(book)):
            if verdict.block_entries and intent.action in ("enter_long", "enter_short"):
                continue
            _act(book, intent, close, outcome, protection, guard, now, paper, block=verdict.block_entries)
            if outcome.stop is not None:
                break
    outcome.equity = book.equity(close)
    for index, planned in enumerate(outcome.orders):
        planned.fill_ms = bar.ts if index < stop_fills else bar.ts + step_ms
    return outcome


def _check_stops(book: Book, bar: Bar, outcome: StepOutcome, protection: ProtectionSettings,
                 guard: ProtectionState, now: datetime, paper: bool) -> None:
    if not book.units or (book.stop_loss is None and book.take_profit is None and book.liquidation is None):
        return
    hit = bar_exit(book.side, D(bar.open), D(bar.high), D(bar.low),
                   stop_loss=book.stop_loss, take_profit=book.take_profit, liquidation=book.liquidation)
    if hit is None:
        return
    price, reason = hit
    # Paper: the stop fills at its level (the simulator's rule). Live: the exit is a market order now.
    _close(book, outcome, price if paper else D(bar.close), reason, protection, guard, now, paper, at_level=paper)


def _close(book: Book, outcome: StepOutcome, reference: Decimal, purpose: str, protection: ProtectionSettings,
           guard: ProtectionState, now: datetime, paper: bool, *, at_level: bool = False) -> None:
    side = "sell" if book.units > 0 else "buy"
    planned = PlannedOrder(purpose, side, abs(book.units), True, reference)
    if paper:
        price = reference if at_level else book.fill_price(reference, side)
        planned.fill = book.book_close(price=price, fee=_paper_fill(book, planned, price=price), purpose=purpose)
        _after_close(planned.fill, outcome, protection, guard, now)
    else:
        book.units, book.target = ZERO, 0.0  # the position is being closed; the fill is booked later
    outcome.orders.append(planned)


def _after_close(fill: FillResult, outcome: StepOutcome, protection: ProtectionSettings,
                 guard: ProtectionState, now: datetime) -> None:
    verdict = protections_on_trade_closed(protection, guard, closed_at=now, pnl=fill.trade_pnl,
                                          exit_reason=fill.purpose)
    if verdict.triggered:
        outcome.notices.append(verdict)
    if verdict.stop and outcome.stop is None:
        outcome.stop = verdict


def _act(book: Book, intent: Intent, close: Decimal, outcome: StepOutcome, protection: ProtectionSettings,
         guard: ProtectionState, now: datetime, paper: bool, *, block: bool) -> None:
    if intent.action == "exit":
        if book.units:
            _close(book, outcome, close, "exit", protection, guard, now, paper)
        return
    if not paper:
        # Live: the amount is computed when the order is placed (after an earlier exit has filled).
        outcome.orders.append(PlannedOrder(intent.action, "", ZERO, False, close, intent=intent))
        return
    sl = D(intent.stop_loss) if intent.stop_loss is not None else None
    tp = D(intent.take_profit) if intent.take_profit is not None else None
    if intent.action in ("enter_long", "enter_short"):
        long = intent.action == "enter_long"
        side = "buy" if long else "sell"
        price = book.fill_price(close, side)
        amount = book.entry_amount_for(intent.size, price)
        if amount <= 0:
            return
        planned = PlannedOrder("entry", side, amount, False, close)
        planned.fill = book.book_entry(long=long, amount=amount, price=price, fee=fee_for(price, amount, book.fee_rate),
                                       target=intent.target, stop_loss=sl, take_profit=tp)
        outcome.orders.append(planned)
        return
    side, amount = book.resize_delta(intent.size, close)
    long = book.units > 0
    increase = (side == "buy") == long
    if amount <= 0 or (block and increase):
        return
    price = book.fill_price(close, side)
    planned = PlannedOrder("increase" if increase else "reduce", side, amount, not increase, close)
    fee = fee_for(price, amount, book.fee_rate)
    if increase:
        planned.fill = book.book_increase(amount=amount, price=price, fee=fee, target=intent.target,
                                          stop_loss=sl, take_profit=tp)
    else:
        planned.fill = book.book_reduce(amount=amount, price=price, fee=fee, target=intent.target,
                                        stop_loss=sl, take_profit=tp)
        if planned.fill.closed_trade:
            _after_close(planned.fill, outcome, protection, guard, now)
    outcome.orders.append(planned)
