"""Order services for people (chat, API, admin): re-sync with the exchange, cancel, resolve attention.

They are synchronous (each opens a short-lived client pool); bots place orders with the async API in
trading.orders.placement. Pass `user` when a user acts (they may only touch their own orders); operators
acting from the admin pass none.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from bots.models import FINAL_ORDER_STATUSES, Order, OrderStatus, RunType
from core.errors import Conflict, TemporaryError
from trading.gateways import errors as gw
from trading.orders.attention import order_attention_clear
from trading.orders.selectors import order_get_for_user
from trading.orders.state import order_apply_snapshot, order_fee_fill_in, order_lookup


def _order(user, order_id: int) -> Order:  # noqa: ANN001
    if user is not None:
        return order_get_for_user(user=user, order_id=order_id)
    return Order.objects.select_related("exchange_setting").get(pk=order_id)


def _require_live(order: Order) -> None:
    if order.run_type != RunType.LIVE:
        raise Conflict("Only live orders exist at an exchange; dry-run orders are simulated.")
    if order.exchange_setting is None:
        raise Conflict("The exchange key this order was placed with was deleted; check it at the exchange.")


def order_resync(*, order_id: int, user=None) -> Order:  # noqa: ANN001
    """Ask the exchange about the order (by client order id) and store its answer.

    Not found at the exchange: an order that was never confirmed becomes "rejected" (it was never
    placed); one the exchange had accepted stays flagged. Raises TemporaryError if it cannot answer.
    """
    from trading.gateways.pool import LiveGatewayPool

    order = _order(user, order_id)
    _require_live(order)

    async def run() -> Order:
        async with LiveGatewayPool() as pool:
            gateway = await pool.gateway(order.exchange_setting)
            lookup = await order_lookup(gateway, order, delays=(0.0, 0.3))
            if lookup.found:
                await sync_to_async(order_apply_snapshot)(order, lookup.snapshot)
                await order_fee_fill_in(gateway, order)
            elif lookup.not_found:
                await sync_to_async(_not_found)(order)
            else:
                raise TemporaryError(lookup.error.user_message if lookup.error else "The exchange did not answer.")
            return order

    try:
        return async_to_sync(run)()
    except gw.GatewayError as error:
        raise TemporaryError(error.user_message) from None


def _not_found(order: Order) -> None:
    if order.status in (OrderStatus.SUBMITTING, OrderStatus.UNKNOWN) and not order.exchange_order_id:
        from trading.orders.reconcile import NEVER_PLACED

        order.status, order.last_error = OrderStatus.REJECTED, NEVER_PLACED
        order.save(update_fields=["status", "last_error", "updated_at"])
        order_attention_clear(order=order)


def order_cancel(*, order_id: int, user=None) -> Order:  # noqa: ANN001
    """Cancel the order at the exchange (by client order id) and store the outcome.

    If the exchange does not have it open any more, the order is re-synced instead: it may have been
    filled meanwhile, or never placed at all.
    """
    from trading.gateways.pool import LiveGatewayPool

    order = _order(user, order_id)
    _require_live(order)
    if order.status in FINAL_ORDER_STATUSES:
        raise Conflict(f"The order is already {order.get_status_display().lower()}.")

    async def run() -> bool:
        async with LiveGatewayPool() as pool:
            gateway = await pool.gateway(order.exchange_setting)
            try:
                snapshot = await gateway.cancel_order(order.symbol, client_order_id=order.client_order_id)
            except gw.OrderNotFound:
                return False
            await sync_to_async(order_apply_snapshot)(order, snapshot)
            return True

    try:
        canceled = async_to_sync(run)()
    except gw.GatewayError as error:
        raise TemporaryError(error.user_message) from None
    return order if canceled else order_resync(order_id=order.pk)


def order_attention_resolve(*, order_id: int, note: str) -> Order:
    """An operator checked the order by hand: clear the flag and keep the note in `last_error`."""
    order = Order.objects.get(pk=order_id)
    order.last_error = f"Resolved by an operator {timezone.now():%Y-%m-%d %H:%M} UTC: {note}"[:500]
    order.save(update_fields=["last_error", "updated_at"])
    order_attention_clear(order=order)
    return order
