from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from bots.models import SubscribedBot
from core.admin import ReadOnlyInline, service_action
from funds.models import Fund, FundBot, FundSubscription, FundSubscriptionStatus
from funds.services import fund_subscription_approve, fund_subscription_cancel


class FundBotInline(admin.TabularInline):
    model = FundBot
    extra = 0
    autocomplete_fields = ("bot",)


@admin.register(Fund)
class FundAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "fee", "currency", "period", "requires_approval", "bot_count",
                    "subscriber_count")
    list_filter = ("status", "period", "requires_approval")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (FundBotInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Fund]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _bots=Count("fund_bots", distinct=True),
                _subscribers=Count(
                    "subscriptions__user",
                    filter=Q(subscriptions__status=FundSubscriptionStatus.ACTIVE),
                    distinct=True,
                ),
            )
        )

    @admin.display(description="bots", ordering="_bots")
    def bot_count(self, obj: Fund) -> int:
        return obj._bots

    @admin.display(description="active subscribers", ordering="_subscribers")
    def subscriber_count(self, obj: Fund) -> int:
        return obj._subscribers


class SubscribedBotInline(ReadOnlyInline):
    model = SubscribedBot
    fields = ("bot", "status", "run_type", "state", "exchange_setting")
    readonly_fields = fields


@admin.register(FundSubscription)
class FundSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "fund", "status", "started_at", "ends_at", "cancelled_at", "created_at")
    list_filter = ("status", "fund")
    search_fields = ("user__username", "user__email", "fund__name")
    list_select_related = ("user", "fund")
    readonly_fields = ("user", "fund", "status", "started_at", "cancelled_at", "created_at")
    fields = ("user", "fund", "status", "started_at", "ends_at", "cancelled_at", "created_at")
    inlines = (SubscribedBotInline,)
    actions = [
        service_action(
            "Approve selected subscriptions",
            lambda request, sub: fund_subscription_approve(fund_subscription_id=sub.pk),
        ),
        service_action(
            "Cancel selected subscriptions",
            lambda request, sub: fund_subscription_cancel(user=sub.user, fund_subscription_id=sub.pk),
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # subscribing creates the user's bots: only through funds.services
