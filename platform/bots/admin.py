from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from bots.models import Bot, BotEvent, BotRun, BotRuntime, Order, SubscribedBot, SubscriptionStatus, Trade
from bots.runtime import bot_start, bot_stop
from bots.services import bot_run_publish_reference
from core.admin import ReadOnlyAdminMixin, ReadOnlyInline, service_action
from core.errors import ApplicationError


class BotForm(forms.ModelForm):
    """Checks the default settings against the strategy's parameter schema, like a user's change is."""

    class Meta:
        model = Bot
        fields = ("name", "slug", "kind", "version", "strategy", "description", "default_setting", "is_listed")

    def clean(self) -> dict:
        cleaned = super().clean()
        strategy, defaults = cleaned.get("strategy"), cleaned.get("default_setting")
        if not strategy or not isinstance(defaults, dict):
            return cleaned
        try:
            from trading.strategies.registry import strategy_settings_validate
        except ImportError:  # the registry is optional for the catalog's own bookkeeping
            return cleaned
        try:
            cleaned["default_setting"] = strategy_settings_validate(strategy, defaults)
        except ApplicationError as exc:
            field = "strategy" if exc.field == "strategy" else "default_setting"
            self.add_error(field, exc.message)
        return cleaned


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    form = BotForm
    list_display = ("name", "slug", "kind", "strategy", "version", "is_listed", "subscriber_count", "updated_at")
    list_filter = ("kind", "is_listed", "strategy")
    search_fields = ("name", "slug", "strategy", "description")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Bot]:
        current = Q(subscriptions__status__in=[SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE])
        return super().get_queryset(request).annotate(_subscribers=Count("subscriptions", filter=current))

    @admin.display(description="current subscriptions", ordering="_subscribers")
    def subscriber_count(self, obj: Bot) -> int:
        return obj._subscribers


class BotRunInline(ReadOnlyInline):
    model = BotRun
    fields = ("run_type", "status", "progress", "started_at", "finished_at")
    readonly_fields = fields
    ordering = ("-created_at",)
    max_num = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[BotRun]:
        return super().get_queryset(request).order_by("-created_at")


@admin.register(SubscribedBot)
class SubscribedBotAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "bot", "fund", "status", "run_type", "state", "exchange_setting", "created_at")
    list_filter = ("status", "run_type", "state", "bot__kind")
    search_fields = ("user__username", "user__email", "bot__name", "bot__slug")
    list_select_related = ("user", "bot", "fund_subscription__fund", "exchange_setting")
    # State, run type and status change only through services (start/stop, run-type rules, funds).
    readonly_fields = (
        "user", "bot", "fund_subscription", "exchange_setting", "status", "run_type", "state", "state_reason",
        "state_changed_at", "user_bot_setting", "subscription_start", "created_at", "updated_at",
    )
    fields = (
        "user", "bot", "fund_subscription", "exchange_setting", "status", "run_type", "state", "state_reason",
        "state_changed_at", "user_bot_setting", "subscription_start", "subscription_end", "created_at", "updated_at",
    )
    inlines = (BotRunInline,)
    # START/STOP as the owner would (bots.runtime services: state machine, checks, STOP finishing in a task).
    actions: list = [
        service_action("Start selected bots", lambda request, bot: bot_start(user=bot.user, subscribed_bot_id=bot.pk)),
        service_action("Stop selected bots (close their positions)",
                       lambda request, bot: bot_stop(user=bot.user, subscribed_bot_id=bot.pk, close_position=True)),
        service_action("Stop selected bots (keep their positions)",
                       lambda request, bot: bot_stop(user=bot.user, subscribed_bot_id=bot.pk, close_position=False)),
    ]

    @admin.display(description="fund", ordering="fund_subscription__fund__name")
    def fund(self, obj: SubscribedBot) -> str:
        return obj.fund_subscription.fund.name if obj.fund_subscription else "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # subscribing goes through bots.services / funds.services


@admin.register(BotRun)
class BotRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "subscribed_bot", "run_type", "status", "progress", "is_reference", "started_at",
                    "finished_at")
    list_filter = ("run_type", "status", "is_reference")
    # The catalog shows each bot's latest published simulation (bots.selectors.bot_track_record).
    actions = [
        service_action("Publish as the bot's reference simulation",
                       lambda request, run: bot_run_publish_reference(run_id=run.pk)),
        service_action("Withdraw as reference simulation",
                       lambda request, run: bot_run_publish_reference(run_id=run.pk, published=False)),
    ]
    search_fields = ("subscribed_bot__user__username", "subscribed_bot__bot__name")
    list_select_related = ("subscribed_bot__user", "subscribed_bot__bot")
    date_hierarchy = "created_at"


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "subscribed_bot", "run_type", "pair", "side", "is_open", "amount", "entry_price",
                    "exit_price", "realized_pnl", "opened_at", "closed_at")
    list_filter = ("run_type", "is_open", "side", "exchange")
    search_fields = ("pair", "subscribed_bot__user__username", "subscribed_bot__bot__name")
    list_select_related = ("subscribed_bot__user", "subscribed_bot__bot")
    date_hierarchy = "created_at"


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("client_order_id", "exchange_order_id", "run_type", "symbol", "side", "type", "status",
                    "amount", "filled", "average", "created_at")
    list_filter = ("status", "run_type", "side", "type", "exchange")
    search_fields = ("client_order_id", "exchange_order_id", "symbol", "subscribed_bot__user__username")
    list_select_related = ("subscribed_bot",)
    date_hierarchy = "created_at"


@admin.register(BotRuntime)
class BotRuntimeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("subscribed_bot", "exchange", "symbol", "timeframe", "position_side", "equity", "last_tick_at")
    list_filter = ("timeframe", "exchange")
    search_fields = ("symbol", "subscribed_bot__user__username")
    list_select_related = ("subscribed_bot__bot", "subscribed_bot__user")


@admin.register(BotEvent)
class BotEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "subscribed_bot", "kind", "message")
    list_filter = ("kind",)
    search_fields = ("message", "subscribed_bot__user__username")
    list_select_related = ("subscribed_bot__bot", "subscribed_bot__user")
