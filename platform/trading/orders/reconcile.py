"""Reconciliation: bring every non-final live order and open position in the database in line with the exchange.

Runs when a worker starts (`worker_ready`) and every minute (beat), see tasks/reconcile.py. It uses the
burst rate limiter (the exchange's real windows) so a sweep is not paced at ccxt's ~50 ms per call. Safe to run
concurrently with placement: a "submitting" order younger than the grace period may still be on its
way in a live process and is left alone; everything else is asked for by client order id.

- found at the exchange            -> the row takes the exchange's state (attention cleared)
- not found, never confirmed       -> "rejected": it never reached the exchange
- not found, but we had it open    -> "unknown" + attention (the exchange lost it?)
- the exchange cannot answer       -> retried next run; after UNKNOWN_AFTER_ATTEMPTS: "unknown" + attention
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from asgiref.sync import async_to_sync, sync_to_async
from django.db.models import F
from django.utils import timezone

from bots.models import Order, OrderStatus, RunType, Trade
from trading.gateways import errors as gw
from trading.gateways.base import ExchangeGateway
from trading.orders.attention import order_attention_flag
from trading.orders.state import order_apply_snapshot, order_fee_fill_in, order_lookup

logger = logging.getLogger(__name__)

SUBMITTING_GRACE_SECONDS = 90  # > SubmitPolicy.deadline_seconds + one request timeout
UNKNOWN_AFTER_ATTEMPTS = 5
NOT_FINAL = (OrderStatus.SUBMITTING, OrderStatus.OPEN, OrderStatus.UNKNOWN)
NEVER_PLACED = "Never reached the exchange (it has no order with this id); nothing was traded."


@dataclass
class ReconcileReport:
    checked: int = 0
    changed: int = 0
    not_placed: int = 0
    flagged: int = 0
    skipped_young: int = 0
    unreachable: int = 0
    unknown_at_exchange: list[str] = field(default_factory=list)  # our-prefix open orders without a row
    position_mismatches: list[str] = field(default_factory=list)


def _orders_to_check(exchange_setting_id: int | None, limit: int) -> list[Order]:
    qs = Order.objects.filter(run_type=RunType.LIVE, status__in=NOT_FINAL).select_related("exchange_setting")
    if exchange_setting_id is not None:
        qs = qs.filter(exchange_setting_id=exchange_setting_id)
    return list(qs.order_by("pk")[:limit])


def _record_attempt(order: Order, *, failed: bool) -> None:
    now = timezone.now()
    if failed:
        Order.objects.filter(pk=order.pk).update(reconcile_attempts=F("reconcile_attempts") + 1,
                                                 last_reconciled_at=now)
        order.refresh_from_db(fields=["reconcile_attempts", "last_reconciled_at"])
    else:
        Order.objects.filter(pk=order.pk).update(reconcile_attempts=0, last_reconciled_at=now)


def _resolve(order: Order, lookup, report: ReconcileReport) -> None:  # noqa: ANN001
    before = order.status
    if lookup.found:
        order_apply_snapshot(order, lookup.snapshot)
        _record_attempt(order, failed=False)
        report.changed += order.status != before
        return
    if lookup.not_found:
        _record_attempt(order, failed=False)
        if order.status == OrderStatus.OPEN:
            reason = "the exchange no longer knows this order although it had accepted it."
            order.status = OrderStatus.UNKNOWN
            order.last_error = reason
            order.save(update_fields=["status", "last_error", "updated_at"])
            report.flagged += order_attention_flag(order=order, reason=reason)
            return
        order.status, order.last_error = OrderStatus.REJECTED, NEVER_PLACED
        order.attention_at, order.attention_reason = None, ""
        order.save(update_fields=["status", "last_error", "attention_at", "attention_reason", "updated_at"])
        report.not_placed += 1
        return
    _record_attempt(order, failed=True)
    if order.reconcile_attempts >= UNKNOWN_AFTER_ATTEMPTS and order.status != OrderStatus.UNKNOWN:
        reason = f"the exchange could not be asked about it ({lookup.error.user_message if lookup.error else ''})"
        order.status, order.last_error = OrderStatus.UNKNOWN, reason[:500]
        order.save(update_fields=["status", "last_error", "updated_at"])
        report.flagged += order_attention_flag(order=order, reason=reason)


async def _reconcile_account(gateway: ExchangeGateway, orders: list[Order], report: ReconcileReport,
                             grace: timedelta) -> None:
    now = timezone.now()
    for order in orders:
        if order.status == OrderStatus.SUBMITTING and now - order.created_at < grace:
            report.skipped_young += 1
            continue
        report.checked += 1
        lookup = await order_lookup(gateway, order, delays=(0.0, 0.3))
        await sync_to_async(_resolve)(order, lookup, report)
        if lookup.found and order.status == OrderStatus.CLOSED:
            await order_fee_fill_in(gateway, order)
    try:
        ours = [o.client_order_id for o in await gateway.fetch_open_orders() if o.client_order_id.startswith("ldp")]
    except gw.GatewayError as error:
        logger.info("open orders not listed: %s", error)
        return
    known = await sync_to_async(lambda: set(
        Order.objects.filter(client_order_id__in=ours).values_list("client_order_id", flat=True)))()
    for client_order_id in sorted(set(ours) - known):
        report.unknown_at_exchange.append(client_order_id)
        logger.error("open order %s at the exchange has no database row", client_order_id)


async def orders_reconcile_async(*, pool, exchange_setting_id: int | None = None,  # noqa: ANN001
                                 grace_seconds: float = SUBMITTING_GRACE_SECONDS, limit: int = 500) -> ReconcileReport:
    """One pass over non-final live orders (bounded by `limit`), grouped by exchange account."""
    report = ReconcileReport()
    orders = await sync_to_async(_orders_to_check)(exchange_setting_id, limit)
    by_account: dict[int | None, list[Order]] = defaultdict(list)
    for order in orders:
        by_account[order.exchange_setting_id].append(order)
    grace = timedelta(seconds=grace_seconds)
    for setting_id, account_orders in by_account.items():
        if setting_id is None:
            for order in account_orders:
                reason = "its exchange key was deleted, so nobody can ask the exchange about it."
                report.flagged += await sync_to_async(order_attention_flag)(order=order, reason=reason)
            continue
        try:
            gateway = await pool.gateway(account_orders[0].exchange_setting, rate_limiter="burst")
        except gw.GatewayError as error:
            logger.warning("reconcile: account %s unreachable: %s", setting_id, error)
            report.unreachable += 1
            for order in account_orders:
                await sync_to_async(_resolve)(order, _Unreachable(error), report)
            continue
        await _reconcile_account(gateway, account_orders, report, grace)
    return report


@dataclass(frozen=True)
class _Unreachable:
    error: gw.GatewayError
    found: bool = False
    not_found: bool = False
    snapshot: None = None


def _open_live_trades() -> dict[int, list[Trade]]:
    by_setting: dict[int, list[Trade]] = defaultdict(list)
    rows = Trade.objects.filter(run_type=RunType.LIVE, is_open=True).select_related(
        "subscribed_bot__exchange_setting")
    for trade in rows:
        if trade.subscribed_bot.exchange_setting_id:
            by_setting[trade.subscribed_bot.exchange_setting_id].append(trade)
    return by_setting


def _apply_positions(trades: list[Trade], exchange_net: dict[str, Decimal], report: ReconcileReport) -> None:
    from bots.events import bot_event_record
    from bots.models import BotEventKind

    db_net: dict[str, Decimal] = defaultdict(Decimal)
    for trade in trades:
        db_net[trade.pair.split(":")[0]] += trade.amount if trade.side == "long" else -trade.amount
    for pair, amount in db_net.items():
        at_exchange = exchange_net.get(pair, Decimal(0))
        if amount == at_exchange:
            continue
        open_trades = [t for t in trades if t.pair.split(":")[0] == pair]
        text = f"{pair}: the platform holds {amount.normalize()} but the exchange holds {at_exchange.normalize()}"
        report.position_mismatches.append(text)
        if at_exchange == 0:
            # Closed outside the platform (manually, liquidation): a phantom open trade would make the
            # bot try to close a position that does not exist.
            for trade in open_trades:
                trade.is_open, trade.exit_reason, trade.closed_at = False, "closed_on_exchange", timezone.now()
                trade.save(update_fields=["is_open", "exit_reason", "closed_at", "updated_at"])
        for subscribed_bot_id in {t.subscribed_bot_id for t in open_trades}:
            bot_event_record(subscribed_bot_id=subscribed_bot_id, kind=BotEventKind.ERROR,
                             message=f"Position check: {text}." + (" The trade was marked closed."
                                                                   if at_exchange == 0 else ""),
                             data={"position_mismatch": pair})


async def positions_reconcile_async(*, pool) -> ReconcileReport:  # noqa: ANN001
    """Compare open live trades with the exchange's positions, per account."""
    from exchanges.models import ExchangeSetting

    report = ReconcileReport()
    by_setting = await sync_to_async(_open_live_trades)()
    for setting_id, trades in by_setting.items():
        setting = await sync_to_async(ExchangeSetting.objects.get)(pk=setting_id)
        try:
            gateway = await pool.gateway(setting, rate_limiter="burst")
            positions = await gateway.fetch_positions()
        except gw.GatewayError as error:
            logger.warning("reconcile: positions of account %s not read: %s", setting_id, error)
            report.unreachable += 1
            continue
        exchange_net: dict[str, Decimal] = defaultdict(Decimal)
        for position in positions:
            pair = position.symbol.split(":")[0]
            exchange_net[pair] += position.amount if position.side == "long" else -position.amount
        await sync_to_async(_apply_positions)(trades, exchange_net, report)
    return report


def reconcile_all(*, grace_seconds: float = SUBMITTING_GRACE_SECONDS, limit: int = 500) -> ReconcileReport:
    """Sync entry point (Celery): orders first, then positions, with one short-lived client pool."""
    from trading.gateways.pool import LiveGatewayPool

    async def run() -> ReconcileReport:
        async with LiveGatewayPool() as pool:
            report = await orders_reconcile_async(pool=pool, grace_seconds=grace_seconds, limit=limit)
            positions = await positions_reconcile_async(pool=pool)
        report.position_mismatches = positions.position_mismatches
        report.unreachable += positions.unreachable
        return report

    return async_to_sync(run)()
