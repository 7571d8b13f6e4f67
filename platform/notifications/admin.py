"""Operator console for notifications: what was sent where, what failed and why, and a retry button.

Outbox rows are delivery records: read-only here; the only change is the service-backed retry action.
"""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin, ReadOnlyInline, service_action
from notifications.models import Notification, NotificationPreference, OutboxMessage
from notifications.services import outbox_message_retry


class OutboxMessageInline(ReadOnlyInline):
    model = OutboxMessage
    fields = ("channel", "identity", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "user", "event", "title", "critical", "created_at")
    list_filter = ("event", "critical")
    search_fields = ("user__username", "user__email", "title", "key")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    fields = ("user", "event", "key", "title", "text", "buttons", "data", "critical", "created_at")
    readonly_fields = fields
    inlines = (OutboxMessageInline,)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "notification", "channel", "status", "attempts", "next_attempt_at", "sent_at",
                    "last_error")
    list_filter = ("status", "channel")
    search_fields = ("notification__user__username", "notification__title", "last_error")
    list_select_related = ("notification",)
    date_hierarchy = "created_at"
    fields = ("notification", "channel", "identity", "status", "attempts", "next_attempt_at", "lease_until",
              "sent_at", "external_id", "last_error", "created_at", "updated_at")
    readonly_fields = fields
    actions = [
        service_action("Retry selected failed messages", lambda request, row: outbox_message_retry(message_id=row.pk)),
    ]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Users choose these themselves (chat, API); operators look only."""

    list_display = ("user", "event", "channel", "enabled", "updated_at")
    list_filter = ("event", "channel", "enabled")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
