"""Orders that need the user (the exchange did not confirm their state): look, re-sync, cancel.

Notifications link here with the `ors` (re-sync) and `orc` (cancel) buttons; the work is the order
services' (trading.orders), which ask the exchange.
"""

from __future__ import annotations

from typing import Any

from chat import formatting
from chat.context import Ctx
from chat.journeys.menu import menu_button
from chat.registry import action
from chat.screens import Screen

ORDER_MAX_AGE = 600


def _order(ctx: Ctx, order_id: int) -> Any:
    from trading.orders.selectors import order_get_for_user

    return order_get_for_user(user=ctx.user, order_id=order_id)


def order_screen(ctx: Ctx, order_id: int, note: str = "") -> Screen:
    order = _order(ctx, order_id)
    price = f" at {formatting.quantity(order.price)}" if order.price is not None else ""
    lines = [note] if note else []
    lines += [
        f"{order.get_side_display()} {formatting.quantity(order.amount)} {order.symbol}{price} "
        f"({order.get_type_display().lower()}) on {order.exchange}",
        f"Status: {order.get_status_display()} · filled {formatting.quantity(order.filled)}",
        f"Client order id: {order.client_order_id}",
    ]
    if order.last_error:
        lines.append(order.last_error)
    rows = []
    if order.status not in ("closed", "canceled", "expired", "rejected"):
        rows.append([ctx.button("Re-sync", "ors", order.pk, style="primary"),
                     ctx.button("Cancel order", "orc", order.pk, style="danger")])
    rows.append([ctx.button("Open bot", "b", order.subscribed_bot_id), menu_button(ctx)])
    return Screen(title="Order", text="\n".join(lines), rows=rows)


@action("or", int)
def order_action(ctx: Ctx, order_id: int) -> Screen:
    return order_screen(ctx, order_id)


@action("ors", int, mutates=True, max_age=ORDER_MAX_AGE, refresh=order_action)
def order_resync(ctx: Ctx, order_id: int) -> Screen:
    from trading.orders.services import order_resync as resync

    order = resync(order_id=_order(ctx, order_id).pk, user=ctx.user)
    return order_screen(ctx, order.pk, note="Asked the exchange; this is what it says now.")


@action("orc", int, max_age=ORDER_MAX_AGE, refresh=order_action)
def order_cancel_confirm(ctx: Ctx, order_id: int) -> Screen:
    order = _order(ctx, order_id)
    return Screen(
        title="Cancel this order at the exchange?",
        text=f"{order.get_side_display()} {formatting.quantity(order.amount)} {order.symbol}. If it was filled "
        "meanwhile, nothing is cancelled and you see its real state.",
        rows=[[ctx.button("Yes, cancel it", "orc!", order.pk, style="danger"), ctx.button("No", "or", order.pk)]],
    )


@action("orc!", int, mutates=True, max_age=ORDER_MAX_AGE, refresh=order_action)
def order_cancel(ctx: Ctx, order_id: int) -> Screen:
    from trading.orders.services import order_cancel as cancel

    order = cancel(order_id=_order(ctx, order_id).pk, user=ctx.user)
    return order_screen(ctx, order.pk, note=f"The order is now {order.get_status_display().lower()}.")
