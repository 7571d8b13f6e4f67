from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        # Bot events are recorded by bots.events; the outbox rows are written in the same transaction.
        from bots.events import bot_events_recorded
        from notifications.hooks import on_bot_events_recorded

        bot_events_recorded.connect(on_bot_events_recorded, dispatch_uid="notifications.bot_events")
