"""Admin for exchange keys (masked, never the secret or any ciphertext) and the orders-needing-attention queue."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdminMixin, service_action
from exchanges.models import ExchangeSetting, OrderNeedingAttention, PaperAccount


def _check(request: HttpRequest, setting: ExchangeSetting) -> None:
    from exchanges.services import exchange_setting_check

    exchange_setting_check(user=setting.user, exchange_setting_id=setting.pk)


def _delete(request: HttpRequest, setting: ExchangeSetting) -> None:
    from exchanges.services import exchange_setting_delete

    exchange_setting_delete(user=setting.user, exchange_setting_id=setting.pk)


@admin.register(ExchangeSetting)
class ExchangeSettingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Keys are added and replaced only through the validating services; ciphertext is never shown."""

    list_display = ("name", "user", "exchange", "api_key_hint", "validation_status", "can_trade_futures",
                    "withdrawal_right", "validated_at", "created_at")
    list_filter = ("exchange", "validation_status", "can_withdraw", "can_trade_futures")
    search_fields = ("name", "user__username", "user__email", "api_key_hint")
    list_select_related = ("user",)
    # No api_key_encrypted / api_secret_encrypted anywhere: not in fields, lists, filters or search.
    fields = ("user", "name", "exchange", "api_key_hint", "key_version", "validation_status", "validation_message",
              "validated_at", "can_trade", "can_trade_futures", "can_withdraw", "created_at", "updated_at")
    readonly_fields = fields
    actions = [
        service_action("Check selected keys with the exchange", _check),
        service_action("Delete selected keys (refused while live bots or open orders use them)", _delete),
    ]

    @admin.display(description="can withdraw", boolean=False, ordering="can_withdraw")
    def withdrawal_right(self, obj: ExchangeSetting) -> str:
        return "YES — unsafe" if obj.can_withdraw else ("no" if obj.can_withdraw is False else "?")


def _resync(request: HttpRequest, order: OrderNeedingAttention) -> None:
    from trading.orders.services import order_resync

    order_resync(order_id=order.pk)


def _cancel(request: HttpRequest, order: OrderNeedingAttention) -> None:
    from trading.orders.services import order_cancel

    order_cancel(order_id=order.pk)


def _resolve(request: HttpRequest, order: OrderNeedingAttention) -> None:
    from trading.orders.services import order_attention_resolve

    order_attention_resolve(order_id=order.pk, note=f"checked by {request.user}")


@admin.register(OrderNeedingAttention)
class OrderNeedingAttentionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The queue of orders money safety could not settle on its own (see docs/money-safety.md)."""

    list_display = ("client_order_id", "attention_at", "attention_reason", "status", "user", "symbol", "side",
                    "amount", "exchange_setting", "reconcile_attempts", "last_reconciled_at")
    list_filter = ("status", "exchange")
    search_fields = ("client_order_id", "exchange_order_id", "symbol", "subscribed_bot__user__username")
    list_select_related = ("subscribed_bot__user", "exchange_setting")
    ordering = ("attention_at",)
    actions = [
        service_action("Re-sync with the exchange", _resync),
        service_action("Cancel at the exchange", _cancel),
        service_action("Mark resolved (checked by hand)", _resolve),
    ]

    @admin.display(description="user", ordering="subscribed_bot__user__username")
    def user(self, obj: OrderNeedingAttention) -> str:
        return str(obj.subscribed_bot.user)


@admin.register(PaperAccount)
class PaperAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Dry-run money: view only (it changes through the paper gateway's fills)."""

    list_display = ("subscribed_bot", "balance", "starting_balance", "currency", "updated_at")
    search_fields = ("subscribed_bot__user__username", "subscribed_bot__bot__name")
    list_select_related = ("subscribed_bot__user", "subscribed_bot__bot")
