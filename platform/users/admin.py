from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils import timezone

from core.admin import ReadOnlyAdminMixin, ReadOnlyInline, service_action
from users.models import ApiToken, ChatIdentity, LinkCode, User
from users.services import api_token_revoke, user_approve, user_block


class ChatIdentityInline(admin.TabularInline):
    model = ChatIdentity
    extra = 0
    can_delete = False
    fields = ("surface", "team_id", "external_user_id", "username", "chat_id", "notifications_enabled", "created_at")
    # Switched on/off on the identity's own page, which records that an operator did it.
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ApiTokenInline(ReadOnlyInline):
    model = ApiToken
    fields = ("name", "prefix", "created_at", "last_used_at", "revoked_at")  # never the hash
    readonly_fields = fields


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "role", "status", "is_staff", "timezone", "date_joined", "last_login")
    list_filter = ("status", "role", "is_staff", "is_superuser")
    search_fields = (
        "username",
        "email",
        "first_name",
        "last_name",
        "chat_identities__username",
        "chat_identities__external_user_id",
    )
    ordering = ("-date_joined",)
    readonly_fields = ("status", "live_trading_confirmed_at", "last_login", "date_joined")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (
            "Platform",
            {"fields": ("role", "status", "timezone", "display_currency", "live_trading_confirmed_at")},
        ),
    )
    inlines = (ChatIdentityInline, ApiTokenInline)
    actions = [
        service_action("Approve selected users", lambda request, user: user_approve(user=user)),
        service_action("Block selected users", lambda request, user: user_block(user=user)),
    ]


@admin.register(ChatIdentity)
class ChatIdentityAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "surface", "team_id", "external_user_id", "notifications_enabled", "created_at")
    list_filter = ("surface", "notifications_enabled")
    search_fields = ("username", "external_user_id", "team_id", "user__username", "user__email")
    list_select_related = ("user",)
    readonly_fields = ("user", "surface", "team_id", "external_user_id", "chat_id", "username", "created_at",
                       "notifications_off_reason")
    fields = (*readonly_fields, "notifications_enabled")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # identities come from chat; linking goes through link codes

    def save_model(self, request: HttpRequest, obj: ChatIdentity, form, change: bool) -> None:
        if "notifications_enabled" in form.changed_data:
            # An operator's "off" stays off when the user writes again (unlike a chat found unreachable).
            obj.notifications_off_reason = "" if obj.notifications_enabled else "operator"
        super().save_model(request, obj, form, change)


@admin.register(LinkCode)
class LinkCodeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "user", "state", "created_at", "expires_at", "used_at", "used_by")
    list_filter = ("used_at",)
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "used_by")
    fields = ("user", "state", "created_at", "expires_at", "used_at", "used_by")  # never the hash
    readonly_fields = fields

    @admin.display(description="state")
    def state(self, obj: LinkCode) -> str:
        if obj.used_at:
            return "used"
        return "expired" if obj.expires_at <= timezone.now() else "live"


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username", "user__email")
    list_select_related = ("user",)
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")  # never the hash
    readonly_fields = fields
    actions = [
        service_action(
            "Revoke selected tokens", lambda request, token: api_token_revoke(user=token.user, token_id=token.pk)
        ),
    ]
