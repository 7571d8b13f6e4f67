"""Reads of orders for the money-safety screens (operators' queue, a user's own orders)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from bots.models import Order
from core.errors import NotFound

# Every path that makes an order "unknown" flags it, so the flag alone defines the queue.
NEEDS_ATTENTION = Q(attention_at__isnull=False)


def order_list_needing_attention() -> QuerySet[Order]:
    """Orders a person must look at (flagged), oldest flag first."""
    return (Order.objects.filter(NEEDS_ATTENTION)
            .select_related("subscribed_bot__user", "subscribed_bot__bot", "exchange_setting")
            .order_by("attention_at", "pk"))


def order_get_for_user(*, user, order_id: int) -> Order:
    """One of the user's orders; NotFound for a missing id and for anybody else's."""
    order = Order.objects.filter(pk=order_id, subscribed_bot__user=user).select_related("exchange_setting").first()
    if order is None:
        raise NotFound("No such order among yours.", field="order_id")
    return order
