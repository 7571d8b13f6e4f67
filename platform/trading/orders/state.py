"""Shared by placement and reconciliation: ask the exchange about an order, write what it says."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.utils import timezone

from bots.models import FINAL_ORDER_STATUSES, Order, OrderStatus
from trading.gateways import errors as gw
from trading.gateways.base import ExchangeGateway, OrderSnapshot

logger = logging.getLogger(__name__)

# ccxt unified status -> ours
STATUS_FROM_EXCHANGE = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.CLOSED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
LOOKUP_DELAYS = (0.0, 0.3, 1.0)  # seconds before each ask by client order id


@dataclass(frozen=True)
class Lookup:
    """What asking the exchange by client order id told us."""

    snapshot: OrderSnapshot | None = None
    not_found: bool = False  # the exchange answered: no such order
    error: gw.GatewayError | None = None  # the exchange could not answer

    @property
    def found(self) -> bool:
        return self.snapshot is not None


async def order_lookup(gateway: ExchangeGateway, order: Order, *, delays: tuple[float, ...] = LOOKUP_DELAYS) -> Lookup:
    """Ask by client order id, a few times. Found wins at once; 'not found' needs two answers in a row
    (an order accepted a moment ago may not be queryable yet); errors are remembered."""
    not_found_answers = 0
    last_error: gw.GatewayError | None = None
    for delay in delays:
        if delay:
            await asyncio.sleep(delay)
        try:
            snapshot = await gateway.fetch_order(order.symbol, client_order_id=order.client_order_id)
            return Lookup(snapshot=snapshot)
        except gw.OrderNotFound:
            not_found_answers += 1
            if not_found_answers >= 2:
                return Lookup(not_found=True)
        except gw.RateLimited as error:
            last_error = error
            await asyncio.sleep(min(error.retry_after or 1.0, 5.0))
        except gw.GatewayError as error:
            last_error = error
    if not_found_answers:
        return Lookup(not_found=True)
    return Lookup(error=last_error or gw.TemporaryGatewayError("no answer"))


def _fields_from_snapshot(order: Order, snapshot: OrderSnapshot) -> list[str]:
    status = STATUS_FROM_EXCHANGE.get(snapshot.status, OrderStatus.OPEN)
    if order.status in FINAL_ORDER_STATUSES and status == OrderStatus.OPEN:
        return []  # a stale answer never reopens a final order
    order.status = status
    if snapshot.exchange_order_id:
        order.exchange_order_id = snapshot.exchange_order_id
    order.filled = snapshot.filled
    order.remaining = snapshot.remaining
    order.cost = snapshot.cost
    if snapshot.average:
        order.average = snapshot.average
    if snapshot.fee:
        order.fee = snapshot.fee
        order.fee_currency = snapshot.fee_currency
    now = timezone.now()
    if order.submitted_at is None:
        order.submitted_at = now
    if status == OrderStatus.CLOSED and order.filled_at is None:
        order.filled_at = now
    fields = ["status", "exchange_order_id", "filled", "remaining", "cost", "average", "fee", "fee_currency",
              "submitted_at", "filled_at", "updated_at"]
    if order.attention_at is not None:
        order.attention_at = None
        order.attention_reason = ""
        fields += ["attention_at", "attention_reason"]
    order.last_error = ""
    fields.append("last_error")
    return fields


def order_apply_snapshot(order: Order, snapshot: OrderSnapshot) -> Order:
    """Write the exchange's view of the order onto the row (the exchange is the truth)."""
    fields = _fields_from_snapshot(order, snapshot)
    if fields:
        order.save(update_fields=fields)
    return order


order_apply_snapshot_async = sync_to_async(order_apply_snapshot)


async def order_fee_fill_in(gateway: ExchangeGateway, order: Order) -> None:
    """Futures order answers carry no commission: read it from the fills, if the gateway can."""
    fetch_fee = getattr(gateway, "fetch_order_fee", None)
    if fetch_fee is None or order.fee or not order.exchange_order_id or order.filled <= 0:
        return
    try:
        fee, currency = await fetch_fee(order.symbol, order.exchange_order_id)
    except gw.GatewayError as error:
        logger.info("fee of order %s not read yet: %s", order.pk, error)
        return
    if fee:
        order.fee, order.fee_currency = Decimal(fee), currency
        await sync_to_async(order.save)(update_fields=["fee", "fee_currency", "updated_at"])
