"""Notifications: what happened (Notification), one outbox row per destination (OutboxMessage), and the
user's choices (NotificationPreference).

A Notification and its OutboxMessages are written in the same transaction as the business change they
report; a task delivers them after commit and a beat sweep picks up whatever a lost task left behind.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    TELEGRAM = "telegram", "Telegram"
    SLACK = "slack", "Slack"
    EMAIL = "email", "E-mail"


class EventType(models.TextChoices):
    BOT_STARTED = "bot_started", "Bot started"
    BOT_STOPPED = "bot_stopped", "Bot stopped"
    BOT_ERROR = "bot_error", "Bot error"
    ORDER_FILLED = "order_filled", "Order filled"
    TRADE_CLOSED = "trade_closed", "Trade closed"
    PROTECTION = "protection", "Protection triggered"
    SIGNAL = "signal", "Indicator signal"
    SETTINGS_APPLIED = "settings_applied", "Settings applied"
    SIMULATION_FINISHED = "simulation_finished", "Simulation finished"
    SUBSCRIPTION_CHANGED = "subscription_changed", "Subscription changes"
    ORDER_ATTENTION = "order_attention", "Order needs your attention"
    ACCOUNT_APPROVED = "account_approved", "Account approved"
    ACCOUNT_BLOCKED = "account_blocked", "Account blocked"


class Notification(models.Model):
    """One thing that happened to one user, rendered surface-independently (title, text, buttons).

    `key` names the business change (e.g. `bot_event:42`): enqueueing the same key twice is a no-op,
    so a retried task or a double call never produces a second message.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=32, choices=EventType.choices)
    key = models.CharField(max_length=200, help_text="dedupe key of the business change")
    title = models.CharField(max_length=200)
    text = models.TextField()
    # [[{"label", "code", "args", "style"}, …], …]: core actions, signed for the user when delivered.
    buttons = models.JSONField(default=list, blank=True)
    data = models.JSONField(default=dict, blank=True)
    critical = models.BooleanField(default=False, help_text="an interrupted send is retried (at-least-once)")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "notification"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notification_unique_key"),
            models.CheckConstraint(condition=Q(event__in=EventType.values), name="notification_event_valid"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="notification_user_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_event_display()}: {self.title}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # The send was interrupted (crash, timeout) and may or may not have arrived; not resent (at-most-once).
    UNKNOWN = "unknown", "Sent (unconfirmed)"
    CANCELLED = "cancelled", "Cancelled"


FINAL_OUTBOX_STATUSES = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.UNKNOWN, OutboxStatus.CANCELLED)


class OutboxMessage(models.Model):
    """One delivery of a notification to one destination (a chat identity or the user's e-mail)."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    identity = models.ForeignKey(
        "users.ChatIdentity", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox_messages"
    )
    address = models.CharField(max_length=254, help_text="chat id or e-mail address at the time of enqueue")
    dedupe_key = models.CharField(max_length=300, unique=True)
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="sends tried (rate-limited ones excluded)")
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True, help_text="a worker is sending until then")
    last_error = models.CharField(max_length=500, blank=True, default="")
    external_id = models.CharField(max_length=64, blank=True, default="", help_text="Telegram/Slack message id")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "notification_outbox"
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="outbox_channel_valid"),
            models.CheckConstraint(condition=Q(status__in=OutboxStatus.values), name="outbox_status_valid"),
        ]
        indexes = [
            # The sweep's two queries: due pending rows, and sends whose lease ran out.
            models.Index(fields=["next_attempt_at"], name="outbox_due_idx", condition=Q(status="pending")),
            models.Index(fields=["lease_until"], name="outbox_lease_idx", condition=Q(status="sending")),
            models.Index(fields=["status", "created_at"], name="outbox_status_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk} ({self.status})"


class NotificationPreference(models.Model):
    """A user's explicit choice for one event on one channel. No row: the default applies
    (notifications.catalog.default_enabled)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event = models.CharField(max_length=32, choices=EventType.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "notification_preference"
        constraints = [
            models.UniqueConstraint(fields=["user", "event", "channel"], name="notification_preference_unique"),
            models.CheckConstraint(condition=Q(event__in=EventType.values), name="notification_pref_event_valid"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="notification_pref_channel_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.event} on {self.channel}: {'on' if self.enabled else 'off'}"
