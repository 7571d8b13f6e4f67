"""Live-run: the exchange account behind START and STOP, and placing the orders a tick decided.

A tick decides in its transaction and leaves the orders it wants on the runtime row (`pending_actions`,
each with an idempotency key). After the commit they are placed here through the money-safe order layer
(trading.orders.placement: persisted as "submitting" before sending, asked before any retry), one bot's
actions in order (an entry is sized from the balance after the exit filled), bots concurrently. The fills
are booked like paper fills, and the actions cleared, in one transaction at the end. A crash anywhere
leaves the actions on the row: the next tick (or STOP) resumes them under the same keys, and the order
layer returns the existing order instead of placing a second one.

Known limit: stop-loss / take-profit levels are checked at each candle close and exited with a market
order then (as the simulator checks bars); no resting stop orders are placed at the exchange.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone

from bots.events import EventSpec, bot_events_record_many
from bots.models import BotEventKind, BotRun, BotRuntime, BotState, Order, OrderStatus, SubscribedBot
from core.errors import ApplicationError, Conflict, TemporaryError
from marketdata.timeframes import to_ms
from trading.gateways import errors as gw
from trading.runtime.book import ZERO, Book, D
from trading.runtime.persist import _set_state, _Writer, runtime_bulk_update
from trading.runtime.rows import BotRow, bot_rows_load
from trading.runtime.step import PlannedOrder

logger = logging.getLogger(__name__)

CLOSING = frozenset({"exit", "stop_loss", "take_profit", "liquidation", "protection", "stop"})


# --- START / STOP ----------------------------------------------------------------------------------


def live_start(*, subscribed_bot: SubscribedBot, run: BotRun, runtime: BotRuntime) -> Decimal:
    """Check the key with the exchange, pick the capital, set the leverage. Returns the capital."""
    from exchanges.services import exchange_setting_check

    key = subscribed_bot.exchange_setting
    if key is None:
        raise Conflict("Attach one of your exchange keys to this bot before going live.")
    check = exchange_setting_check(user=subscribed_bot.user, exchange_setting_id=key.pk)
    if not check.valid:
        raise Conflict(f"The exchange refused the key '{key.name}': {check.message}")
    if check.can_trade_futures is False:
        raise Conflict(f"Exchange key '{key.name}' is not allowed to trade futures.")
    settings = run.setting_snapshot or {}
    quote = str(settings.get("symbol", "BTC/USDT")).split("/")[-1].split(":")[0]
    free = next((balance.free for balance in check.balances if balance.currency == quote), ZERO)
    capital = D(settings.get("capital") or 0) or free
    if capital <= 0:
        raise Conflict(f"There is no free {quote} on the exchange account to trade with.")
    if capital > free:
        raise Conflict(f"The bot's capital ({capital.normalize():f} {quote}) is more than the free "
                       f"{free.normalize():f} {quote} on the exchange account.")
    _run_async(_set_leverage(key, runtime.symbol, int(settings.get("leverage", 1))))
    run.parameters = {**run.parameters, "capital": str(capital), "quote": quote}
    run.save(update_fields=["parameters", "updated_at"])
    runtime.balance = capital
    return capital


async def _set_leverage(key: Any, symbol: str, leverage: int) -> None:
    from trading.gateways.pool import LiveGatewayPool

    async with LiveGatewayPool() as pool:
        gateway = await pool.gateway(key)
        await gateway.set_leverage(symbol, leverage)


def live_stop(*, subscribed_bot: SubscribedBot, run: BotRun, runtime: BotRuntime, close_position: bool) -> None:
    """Cancel the run's open orders at the exchange, drop decided-but-unplaced orders, close or keep the position."""
    from trading.orders.services import order_cancel

    for order in Order.objects.filter(run=run, status__in=(OrderStatus.OPEN, OrderStatus.SUBMITTING,
                                                            OrderStatus.UNKNOWN)):
        if order.status == OrderStatus.OPEN:
            order_cancel(order_id=order.pk)
        else:
            raise TemporaryError("An order of this bot is still being confirmed by the exchange; stopping shortly.")
    BotRuntime.objects.filter(pk=runtime.pk).update(pending_actions=[])
    if close_position and runtime.position_side:
        action = {"key": f"stop:{run.pk}", "purpose": "stop", "reference_price": "0", "size": 0.0, "target": 0.0}
        BotRuntime.objects.filter(pk=runtime.pk).update(pending_actions=[action])
        live_pending_execute([subscribed_bot.pk], running_only=False, raise_on_failure=True)


# --- placing a tick's orders -------------------------------------------------------------------------


@dataclass
class _Outcome:
    row: BotRow
    book: Book
    fills: list[tuple[PlannedOrder, Order]] = field(default_factory=list)
    done: int = 0  # actions fully handled (placed and booked, or dropped)
    error: str = ""  # the bot must stop: a person has to look
    notice: str = ""  # worth telling, the bot goes on


def live_pending_execute(bot_ids: list[int], *, running_only: bool = True, raise_on_failure: bool = False) -> None:
    """Place the pending orders of these live bots and book their fills (see module doc)."""
    from trading.runtime.engine import book_from

    rows = [row for row in bot_rows_load(bot_ids, running_only=running_only, lock=False) if row.pending_actions]
    if not rows:
        return
    keys = {sb.pk: sb.exchange_setting for sb in
            SubscribedBot.objects.select_related("exchange_setting").filter(pk__in=[r.subscribed_bot_id for r in rows])}
    outcomes = [_Outcome(row=row, book=book_from(row, row.profile())) for row in rows]
    _run_async(_place_all(outcomes, keys))
    _book(outcomes)
    failed = [outcome for outcome in outcomes if outcome.error]
    if raise_on_failure and failed:
        raise ApplicationError(failed[0].error)


def _run_async(coroutine: Any) -> Any:
    async def runner() -> Any:
        return await coroutine

    return async_to_sync(runner)()


async def _place_all(outcomes: list[_Outcome], keys: dict[int, Any]) -> None:
    from trading.gateways.pool import LiveGatewayPool

    async with LiveGatewayPool() as pool:
        await asyncio.gather(*(_place_bot(pool, outcome, keys.get(outcome.row.subscribed_bot_id))
                               for outcome in outcomes))


async def _place_bot(pool: Any, outcome: _Outcome, key: Any) -> None:
    from trading.orders.placement import OrderIntent, order_place

    row, book = outcome.row, outcome.book
    if key is None:
        outcome.error = "its exchange key was removed."
        return
    try:
        gateway = await pool.gateway(key)
    except gw.GatewayError as error:
        outcome.error = error.user_message
        return
    for action in row.pending_actions:
        side, amount, reduce_only = _size(book, action)
        if amount <= 0:
            outcome.done += 1
            continue
        intent = OrderIntent(symbol=row.symbol, side=side, amount=amount, reduce_only=reduce_only,
                             purpose=action["purpose"])
        try:
            order = await order_place(run_id=row.run_id, intent=intent, idempotency_key=action["key"], gateway=gateway)
        except ApplicationError as error:  # e.g. below the market's minimum size
            outcome.notice = error.message
            outcome.done += 1
            continue
        if order.status == OrderStatus.CLOSED and order.filled > 0:
            outcome.fills.append((_booked(book, action, order), order))
            outcome.done += 1
        elif order.status == OrderStatus.REJECTED:
            outcome.done += 1
            message = f"the exchange rejected its {action['purpose']} order: {order.last_error}"
            if action["purpose"] in CLOSING:
                outcome.error = message  # a position it cannot close needs a person
                return
            outcome.notice = message
        else:  # open / unknown: reconciliation resolves it; the actions stay until then
            return


def _size(book: Book, action: dict[str, Any]) -> tuple[str, Decimal, bool]:
    """Side, amount and reduce-only of an action, from the book as it is now (after earlier fills)."""
    purpose = action["purpose"]
    reference = D(action.get("reference_price") or 0)
    if purpose in CLOSING:
        if not book.units:
            return "", ZERO, True
        return ("sell" if book.units > 0 else "buy"), abs(book.units), True
    if purpose in ("enter_long", "enter_short"):
        side = "buy" if purpose == "enter_long" else "sell"
        return side, book.entry_amount_for(float(action["size"]), book.fill_price(reference, side)), False
    side, amount = book.resize_delta(float(action["size"]), reference)
    return side, amount, (side == "sell") == (book.units > 0)


def _booked(book: Book, action: dict[str, Any], order: Order) -> PlannedOrder:
    purpose, price, amount, fee = action["purpose"], D(order.average), D(order.filled), D(order.fee)
    planned = PlannedOrder(purpose, order.side, amount, order.reduce_only, D(action.get("reference_price") or 0),
                           fill_ms=to_ms(order.filled_at or timezone.now()))
    sl = D(action["stop_loss"]) if action.get("stop_loss") is not None else None
    tp = D(action["take_profit"]) if action.get("take_profit") is not None else None
    if purpose in CLOSING:
        if amount >= abs(book.units):
            planned.fill = book.book_close(price=price, fee=fee, purpose=purpose, amount=amount)
        else:
            planned.fill = book.book_reduce(amount=amount, price=price, fee=fee, target=book.target)
    elif purpose in ("enter_long", "enter_short"):
        planned.fill = book.book_entry(long=order.side == "buy", amount=amount, price=price, fee=fee,
                                       target=float(action["target"]), stop_loss=sl, take_profit=tp)
    elif (order.side == "buy") == (book.units > 0):
        planned.fill = book.book_increase(amount=amount, price=price, fee=fee, target=float(action["target"]),
                                          stop_loss=sl, take_profit=tp)
    else:
        planned.fill = book.book_reduce(amount=amount, price=price, fee=fee, target=float(action["target"]),
                                        stop_loss=sl, take_profit=tp)
    return planned


@transaction.atomic
def _book(outcomes: list[_Outcome]) -> None:
    """Write the fills and clear the handled actions — only where the row still holds the same actions
    (another process may have resumed them meanwhile)."""
    now = timezone.now()
    current = {row.subscribed_bot_id: row for row in
               bot_rows_load([o.row.subscribed_bot_id for o in outcomes], running_only=False)}
    writer = _Writer(candle_ms=to_ms(now), now=now)
    changed, events, errors = [], [], {}
    for outcome in outcomes:
        row = current.get(outcome.row.subscribed_bot_id)
        if row is None or row.pending_actions != outcome.row.pending_actions:
            continue
        if outcome.fills:
            writer.book_fills(row, outcome.fills, outcome.book)
            row.equity = outcome.book.equity(D(outcome.fills[-1][1].average))
            stop = _after_closes(row, outcome, now)
            if stop:
                writer.stops[row.subscribed_bot_id] = stop
        row.pending_actions = row.pending_actions[outcome.done:]
        changed.append(row)
        for text in (outcome.notice, outcome.error):
            if text:
                events.append(EventSpec(subscribed_bot_id=row.subscribed_bot_id, run_id=row.run_id,
                                        kind=BotEventKind.ERROR, message=f"{row.bot_name}: {text}"))
        if outcome.error:
            errors[row.subscribed_bot_id] = f"Stopped: {outcome.error}"
    writer.flush([])  # also moves bots a protection stopped to `stopping` and sends their STOP finish
    runtime_bulk_update(changed, ("pending_actions", "equity", "consecutive_stop_losses", "cooldown_until"))
    if errors:
        _set_state(errors, BotState.ERROR, now)
    bot_events_record_many(events)


def _after_closes(row: BotRow, outcome: _Outcome, now: Any) -> str:
    """Stop-loss streak and cooldown for the trades these live fills closed; the stop reason, if any."""
    from trading.runtime.engine import guard_from
    from trading.runtime.protections import protections_on_trade_closed

    guard = guard_from(row)
    reason = ""
    for planned, _ in outcome.fills:
        fill = planned.fill
        if fill is None or not fill.closed_trade:
            continue
        verdict = protections_on_trade_closed(row.profile().protection, guard, closed_at=now, pnl=fill.trade_pnl,
                                              exit_reason=fill.purpose)
        if verdict.stop and not reason:
            reason = verdict.reason
    row.consecutive_stop_losses, row.cooldown_until = guard.consecutive_stop_losses, guard.cooldown_until
    return reason
