"""Orders a person must look at: flagged on the row, recorded as a bot event, announced by a signal.

`order_needs_attention` is THE hook for alerting users: the notifications outbox connects a receiver
to it (receivers run inside the flagging transaction and must not do network I/O: write an outbox row).
Operators see the same orders in the admin queue "Orders needing attention".
"""

from __future__ import annotations

import logging

import django.dispatch
from django.db import transaction
from django.utils import timezone

from bots.models import Order

logger = logging.getLogger(__name__)

# Sent with `order: Order, reason: str` when an order is newly flagged.
order_needs_attention = django.dispatch.Signal()

USER_MESSAGE = (
    "Order {side} {amount} {symbol} ({purpose}) could not be confirmed with the exchange: {reason} "
    "The platform keeps checking; you can also re-sync or cancel it."
)


@transaction.atomic
def order_attention_flag(*, order: Order, reason: str) -> bool:
    """Flag `order` for attention (idempotent). Returns True when it was newly flagged and the user alerted."""
    from bots.events import bot_event_record
    from bots.models import BotEventKind

    reason = reason[:300]
    updated = Order.objects.filter(pk=order.pk, attention_at__isnull=True).update(
        attention_at=timezone.now(), attention_reason=reason, updated_at=timezone.now()
    )
    order.refresh_from_db(fields=["attention_at", "attention_reason", "status"])
    if not updated:
        return False
    logger.warning("order %s (%s) needs attention: %s", order.pk, order.client_order_id, reason)
    order_alert_user(order=order, reason=reason)
    bot_event_record(
        subscribed_bot_id=order.subscribed_bot_id,
        run_id=order.run_id,
        kind=BotEventKind.ERROR,
        message=USER_MESSAGE.format(side=order.side, amount=order.amount.normalize(), symbol=order.symbol,
                                    purpose=order.purpose or "order", reason=reason)[:500],
        data={"order_id": order.pk, "client_order_id": order.client_order_id, "attention": reason,
              "status": order.status},
    )
    return True


def order_alert_user(*, order: Order, reason: str) -> None:
    """The chat/notification hook for "an order needs you": fires `order_needs_attention`.

    NOTIFICATIONS connects its outbox writer to the signal; nothing else needs to change here.
    """
    order_needs_attention.send(sender=Order, order=order, reason=reason)


def order_attention_clear(*, order: Order) -> None:
    if order.attention_at is None:
        return
    order.attention_at = None
    order.attention_reason = ""
    order.save(update_fields=["attention_at", "attention_reason", "updated_at"])
