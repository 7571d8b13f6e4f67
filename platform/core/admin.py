"""Operator console building blocks: service-backed actions and read-only admins.

Admin actions never change rows themselves: each calls the same service the API and chat call, so
business rules hold no matter where an operator clicks. Adding an action is one line:

    actions = [service_action("Start selected bots", lambda request, bot: bot_start(...))]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from core.errors import ApplicationError
from core.models import WorkerHeartbeat

# Cap on one action's batch: an operator selecting "all 40,000" should not hold a web worker for minutes.
MAX_ACTION_ROWS = 500


def service_action(description: str, call: Callable[[HttpRequest, Any], Any], *, name: str | None = None):
    """An admin action that calls `call(request, obj)` for each selected row and reports the outcome.

    Rows are handled one by one (each service has its own transaction), so one refusal does not undo
    the others; refusals (ApplicationError) are listed with the row and the service's message.
    """

    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        done: int = 0
        refused: list[str] = []
        for obj in queryset[:MAX_ACTION_ROWS]:
            try:
                call(request, obj)
            except ApplicationError as exc:
                refused.append(f"{obj}: {exc.message}")
            else:
                done += 1
        if done:
            modeladmin.message_user(request, f"{description}: {done} done.", messages.SUCCESS)
        for line in refused[:20]:
            modeladmin.message_user(request, f"{description} refused — {line}", messages.WARNING)
        if len(refused) > 20:
            modeladmin.message_user(request, f"… and {len(refused) - 20} more refused.", messages.WARNING)

    action.__name__ = name or "action_" + "".join(ch if ch.isalnum() else "_" for ch in description.lower())
    action.short_description = description  # type: ignore[attr-defined]
    return action


class ReadOnlyAdminMixin:
    """Viewable, never added, changed or deleted through the admin (money records, audit rows)."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    show_change_link = True


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("hostname", "created_at", "python_platform", "note")
    search_fields = ("hostname", "note")
    date_hierarchy = "created_at"
