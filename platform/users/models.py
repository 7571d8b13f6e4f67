from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from core.models import TimeStampedModel


class UserRole(models.TextChoices):
    INVESTOR = "investor", "Investor"
    OPERATOR = "operator", "Operator"


class UserStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    ACTIVE = "active", "Active"
    BLOCKED = "blocked", "Blocked"


class User(AbstractUser):
    """An investor (or operator). Chat identities, keys and bots hang off this row."""

    role = models.CharField(max_length=16, choices=UserRole.choices, default=UserRole.INVESTOR)
    status = models.CharField(max_length=16, choices=UserStatus.choices, default=UserStatus.ACTIVE, db_index=True)
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name; times in chat use it")
    display_currency = models.CharField(max_length=8, default="USDT")
    live_trading_confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the user acknowledged the risks of live trading"
    )

    class Meta:
        db_table = "user"
        constraints = [
            models.CheckConstraint(condition=Q(role__in=UserRole.values), name="user_role_valid"),
            models.CheckConstraint(condition=Q(status__in=UserStatus.values), name="user_status_valid"),
        ]

    @property
    def is_blocked(self) -> bool:
        return self.status == UserStatus.BLOCKED


class ChatSurface(models.TextChoices):
    TELEGRAM = "telegram", "Telegram"
    SLACK = "slack", "Slack"
    TERMINAL = "terminal", "Terminal"


class ChatIdentity(TimeStampedModel):
    """A person on one chat surface. Telegram: external_user_id = user id, team_id ''.
    Slack: team_id + external_user_id. Several identities may point at one user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="chat_identities")
    surface = models.CharField(max_length=16, choices=ChatSurface.choices)
    team_id = models.CharField(max_length=64, blank=True, default="")
    external_user_id = models.CharField(max_length=64)
    # Where to send notifications: the private chat (Telegram chat id / Slack DM channel id).
    chat_id = models.CharField(max_length=64, blank=True, default="")
    username = models.CharField(max_length=150, blank=True, default="")
    notifications_enabled = models.BooleanField(default=True)
    # Why notifications_enabled is off: "user" (muted from chat or the API; stays off), "operator" (admin),
    # "unreachable" (delivery found the chat gone — bot blocked; back on when the user writes again), "".
    notifications_off_reason = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        db_table = "chat_identity"
        verbose_name_plural = "chat identities"
        constraints = [
            models.UniqueConstraint(
                fields=["surface", "team_id", "external_user_id"], name="chat_identity_unique_per_surface"
            ),
            models.CheckConstraint(condition=Q(surface__in=ChatSurface.values), name="chat_identity_surface_valid"),
        ]

    def __str__(self) -> str:
        who = f"{self.team_id}:{self.external_user_id}" if self.team_id else self.external_user_id
        return f"{self.get_surface_display()} {self.username or who}"


class LinkCode(TimeStampedModel):
    """One-time code that joins a second chat identity to an existing account. Stored hashed."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="link_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        ChatIdentity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "link_code"


class ApiToken(TimeStampedModel):
    """Per-user API token. Only the SHA-256 is stored; the token is shown once at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="first characters, to tell tokens apart")
    token_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
