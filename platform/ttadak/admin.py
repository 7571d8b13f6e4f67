"""Ttadak games in the operator console: read-only (money rows), filterable by state; games that need a
person first."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from ttadak.models import Game


@admin.register(Game)
class GameAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "subscribed_bot", "side", "state", "run_type", "symbol", "leverage", "amount", "pnl",
                    "close_reason", "pressed_at", "finished_at")
    list_filter = ("state", "side", "run_type", "close_reason")
    search_fields = ("idempotency_key", "subscribed_bot__user__username", "symbol", "message")
    list_select_related = ("subscribed_bot__bot", "subscribed_bot__user")
    ordering = ("-created_at",)
    raw_id_fields = ("subscribed_bot", "run", "entry_order", "exit_order", "close_order", "trade")
