"""What other apps call when something happened. Each runs inside the caller's transaction, writes the
notification rows there (no network), and is idempotent on the business change it reports.

    bot_events_notify(events=…)                        # bots.events.bot_events_recorded receiver
    fund_subscription_notify(subscription=…, event=…)  # funds.services
    simulation_finished_notify(run=…)                   # the simulation task, when a run ends
    order_attention_notify(order=…)                     # trading orders: state unknown, a person must act
    account_approved_notify(user=…)                     # users.services.user_approve
    account_blocked_notify(user=…, stopped=…)           # users.services.user_block

Buttons name chat core actions; ORDER_RESYNC_ACTION / ORDER_CANCEL_ACTION are the chat engineer's (a
button is left out until its action is registered, so nobody gets a dead button).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from notifications.catalog import BOT_EVENT_TYPES
from notifications.models import EventType, Notification
from notifications.services import NotificationSpec, button, notifications_enqueue_many

MENU_ACTION = "m"  # chat.journeys.menu: the main menu
OPEN_BOT_ACTION = "b"  # chat.journeys.mybots: the bot's card
SIMULATION_RESULT_ACTION = "sip"  # chat.journeys.simulation: progress / results of a run
ORDER_RESYNC_ACTION = "ors"  # chat: trading.orders.order_resync(order_id=…, user=…) (arg: order id)
ORDER_CANCEL_ACTION = "orc"  # chat: trading.orders.order_cancel(order_id=…, user=…) (arg: order id)


# --- bot events -------------------------------------------------------------------------------------------


def bot_events_notify(*, events: Sequence[Any]) -> list[Notification]:
    """Notify the owners of these (saved) bots.BotEvent rows. One batch, a handful of queries."""
    from bots.models import SubscribedBot

    events = [event for event in events if event.kind in BOT_EVENT_TYPES and event.pk and not _order_attention(event)]
    if not events:
        return []
    bots = {
        row["pk"]: row
        for row in SubscribedBot.objects.filter(pk__in={event.subscribed_bot_id for event in events}).values(
            "pk", "user_id", "bot__name"
        )
    }
    specs = []
    for event in events:
        subscribed_bot = bots.get(event.subscribed_bot_id)
        if subscribed_bot is None:
            continue
        kind = BOT_EVENT_TYPES[event.kind]
        specs.append(
            NotificationSpec(
                user_id=subscribed_bot["user_id"],
                event=kind,
                key=f"bot_event:{event.pk}",
                title=f"{subscribed_bot['bot__name']}: {kind.label}",
                text=event.message,
                buttons=[[button("Open bot", OPEN_BOT_ACTION, subscribed_bot["pk"])]],
                data={
                    "bot_event_id": event.pk,
                    "subscribed_bot_id": subscribed_bot["pk"],
                    "run_id": event.run_id,
                    **{k: v for k, v in (event.data or {}).items() if isinstance(v, str | int | float | bool)},
                },
            )
        )
    return notifications_enqueue_many(specs)


def _order_attention(event: Any) -> bool:
    # trading.orders.attention records an error event next to its signal; order_attention_notify tells
    # the user (with Re-sync / Cancel buttons), so the event would only repeat it.
    data = event.data or {}
    return bool(data.get("order_id") and data.get("attention"))


def on_bot_events_recorded(sender: Any, events: Sequence[Any], **kwargs: Any) -> None:
    """Receiver of bots.events.bot_events_recorded (connected in NotificationsConfig.ready)."""
    bot_events_notify(events=events)


# --- fund subscriptions -----------------------------------------------------------------------------------

_PERIOD_NOUN = {"monthly": "month", "quarterly": "quarter", "yearly": "year"}
_SUBSCRIPTION_TITLES = {
    "subscribed": "You subscribed to {fund}",
    "pending": "Your subscription to {fund} is waiting for approval",
    "approved": "Your subscription to {fund} is approved",
    "cancelled": "Your subscription to {fund} is cancelled",
    "resumed": "Your subscription to {fund} is active again",
    "expired": "Your subscription to {fund} has expired",
}


def fund_subscription_notify(*, subscription: Any, event: str) -> Notification:
    """Tell the subscriber about a fund subscription change (subscribed, approved, cancelled, resumed,
    expired). Call it in the transaction that made the change."""
    if event in ("subscribed", "resumed") and subscription.status == "pending":
        event = "pending"
    if event not in _SUBSCRIPTION_TITLES:
        raise ValueError(f"unknown fund subscription event {event!r}")
    fund = subscription.fund
    bot_names = ", ".join(
        row.bot.name for row in subscription.subscribed_bots.select_related("bot").order_by("id")
    ) or "none"
    text = (
        f"Fund: {fund.name}\n"
        f"Status: {subscription.get_status_display()}\n"
        f"Fee: {fund.fee} {fund.currency} per {_PERIOD_NOUN.get(fund.period, fund.period)}\n"
        f"Bots: {bot_names}\n\n"
        "Bots start stopped in dry-run; start them and choose how they run from your chat or the API."
    )
    # The same change never notifies twice; a later cancel/resume of the same subscription is a new change.
    stamp = int(subscription.updated_at.timestamp() * 1_000_000) if subscription.updated_at else 0
    spec = NotificationSpec(
        user_id=subscription.user_id,
        event=EventType.SUBSCRIPTION_CHANGED,
        key=f"fund_subscription:{subscription.pk}:{event}:{stamp}",
        title=_SUBSCRIPTION_TITLES[event].format(fund=fund.name),
        text=text,
        data={"fund_subscription_id": subscription.pk, "change": event},
    )
    return notifications_enqueue_many([spec])[0]


# --- simulations ------------------------------------------------------------------------------------------


def simulation_finished_notify(*, run: Any) -> Notification | None:
    """Tell the user a simulation run ended (finished or failed). Call it when the run's final status is
    saved; calling it again for the same run does nothing."""
    from chat.journeys.simulation import metric_lines

    if run.status not in ("finished", "failed"):
        return None
    subscribed_bot = run.subscribed_bot
    name = subscribed_bot.bot.name
    if run.status == "finished":
        title = f"Simulation of {name} finished"
        lines = metric_lines(run.metrics or {}) or ["No trades in this period."]
    else:
        title = f"Simulation of {name} failed"
        lines = [run.error or "The simulation could not finish."]
    params = run.parameters or {}
    if params.get("start") and params.get("end"):
        lines.insert(0, f"Period: {str(params['start'])[:10]} → {str(params['end'])[:10]}")
    spec = NotificationSpec(
        user_id=subscribed_bot.user_id,
        event=EventType.SIMULATION_FINISHED,
        key=f"simulation:{run.pk}",
        title=title,
        text="\n".join(lines),
        buttons=[[
            button("Results", SIMULATION_RESULT_ACTION, subscribed_bot.pk, run.pk),
            button("Open bot", OPEN_BOT_ACTION, subscribed_bot.pk),
        ]],
        data={"run_id": run.pk, "subscribed_bot_id": subscribed_bot.pk, "status": run.status},
    )
    return notifications_enqueue_many([spec])[0]


# --- orders that need a person ----------------------------------------------------------------------------


def order_attention_notify(*, order: Any, reason: str = "") -> Notification:
    """An order's state could not be established (e.g. `unknown` after retries): ask the owner to re-sync
    or cancel it. One notification per flagged episode (order + attention time)."""
    subscribed_bot = order.subscribed_bot
    reason = reason or order.attention_reason or "The exchange did not confirm this order's state."
    stamp = int(order.attention_at.timestamp()) if order.attention_at else 0
    from chat.formatting import quantity

    price = f" at {quantity(order.price)}" if order.price is not None else ""
    text = (
        f"{order.side.upper()} {quantity(order.amount)} {order.symbol}{price} ({order.get_type_display().lower()}) "
        f"on {order.exchange}, order {order.client_order_id}.\n"
        f"{reason}\n\n"
        "Re-sync asks the exchange for the order's real state; Cancel cancels it there."
    )
    spec = NotificationSpec(
        user_id=subscribed_bot.user_id,
        event=EventType.ORDER_ATTENTION,
        key=f"order_attention:{order.pk}:{stamp}",
        title=f"{subscribed_bot.bot.name}: an order needs your attention",
        text=text,
        buttons=[
            [
                button("Re-sync", ORDER_RESYNC_ACTION, order.pk, style="primary"),
                button("Cancel order", ORDER_CANCEL_ACTION, order.pk, style="danger"),
            ],
            [button("Open bot", OPEN_BOT_ACTION, subscribed_bot.pk)],
        ],
        data={"order_id": order.pk, "subscribed_bot_id": subscribed_bot.pk},
    )
    return notifications_enqueue_many([spec])[0]


def on_order_needs_attention(sender: Any, order: Any, reason: str = "", **kwargs: Any) -> None:
    """Receiver of trading.orders.attention.order_needs_attention (connected in NotificationsConfig.ready)."""
    order_attention_notify(order=order, reason=reason)


# --- accounts ---------------------------------------------------------------------------------------------


def account_approved_notify(*, user: Any) -> Notification:
    """An operator approved the account: the chat that signed up hears it (the pending screen promises it)."""
    from django.utils import timezone

    spec = NotificationSpec(
        user_id=user.pk,
        event=EventType.ACCOUNT_APPROVED,
        key=f"account_approved:{user.pk}:{int(timezone.now().timestamp())}",
        title="Your account is active",
        text="An operator approved your account. Open the menu to browse the bots and funds, add your exchange "
        "keys and start trading.",
        buttons=[[button("Menu", MENU_ACTION)]],
        data={"user_id": user.pk},
    )
    return notifications_enqueue_many([spec])[0]


def account_blocked_notify(*, user: Any, stopped: Sequence[tuple[str, bool]] = ()) -> Notification:
    """An operator blocked the account: one clear message, naming the bots that were stopped with it
    (`stopped`: (bot name, position closed?) pairs). No buttons — nothing in the chat works for them now."""
    from django.utils import timezone

    lines = ["An operator blocked your account, so the platform no longer acts for you from chat or the API."]
    if stopped:
        lines += ["", "Your running bots are being stopped:"]
        lines += [f"• {name} — {'closing its open position' if close else 'keeping its open position'}"
                  for name, close in stopped]
    lines += ["", "If you think this is a mistake, contact the operator of this platform."]
    spec = NotificationSpec(
        user_id=user.pk,
        event=EventType.ACCOUNT_BLOCKED,
        key=f"account_blocked:{user.pk}:{int(timezone.now().timestamp())}",
        title="Your account is blocked",
        text="\n".join(lines),
        data={"user_id": user.pk, "stopped_bots": [name for name, _ in stopped]},
    )
    return notifications_enqueue_many([spec])[0]
