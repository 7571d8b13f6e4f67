from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        # Bot events are recorded by bots.events; the outbox rows are written in the same transaction.
        from bots.events import bot_events_recorded
        from notifications.hooks import on_bot_events_recorded, on_order_needs_attention
        from trading.orders.attention import order_needs_attention

        bot_events_recorded.connect(on_bot_events_recorded, dispatch_uid="notifications.bot_events")
        # An order whose state is unknown: the owner is asked to re-sync or cancel it.
        order_needs_attention.connect(on_order_needs_attention, dispatch_uid="notifications.order_attention")
