from __future__ import annotations

from django.contrib import admin

from marketdata.models import Candle


@admin.register(Candle)
class CandleAdmin(admin.ModelAdmin):
    """Read-only: candles come from loaders, CSV imports and the generator, never from hand edits."""

    list_display = ("open_time", "exchange", "symbol", "timeframe", "open", "high", "low", "close", "volume",
                    "source")
    # No list_filter / date_hierarchy: each would scan millions of rows for its choices on every page.
    search_fields = ("=symbol", "=exchange")
    show_full_result_count = False
    ordering = ("-open_time",)

    @admin.display(description="source")
    def source(self, obj: Candle) -> str:
        return "SYNTHETIC" if obj.is_synthetic else "market"

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
