from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from bots.models import Order
from core.models import TimeStampedModel


class KeyValidationStatus(models.TextChoices):
    UNCHECKED = "unchecked", "Not checked yet"
    VALID = "valid", "Valid"
    INVALID = "invalid", "Invalid"


class ExchangeSetting(TimeStampedModel):
    """A user's API key for one exchange account (ERD: exchange_setting).

    Key and secret are Fernet ciphertext (core.crypto); only `api_key_hint` is readable, for display.
    Read plaintext only through `exchanges.services.exchange_credentials_get` at the moment of a call.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exchange_settings")
    name = models.CharField(max_length=100, help_text="the user's label, e.g. 'Main futures'")
    exchange = models.CharField(max_length=32, help_text="ccxt id, e.g. binanceusdm")
    api_key_encrypted = models.TextField()
    api_secret_encrypted = models.TextField()
    api_key_hint = models.CharField(max_length=16, help_text="masked key, e.g. abcd…wxyz")
    key_version = models.PositiveIntegerField(
        default=1, help_text="bumped when the key/secret is replaced; live clients are pooled per version"
    )
    validation_status = models.CharField(
        max_length=16, choices=KeyValidationStatus.choices, default=KeyValidationStatus.UNCHECKED
    )
    validation_message = models.CharField(max_length=300, blank=True, default="")
    validated_at = models.DateTimeField(null=True, blank=True)
    can_trade = models.BooleanField(null=True, blank=True)
    can_trade_futures = models.BooleanField(null=True, blank=True)
    can_withdraw = models.BooleanField(null=True, blank=True, help_text="the platform never needs this right")

    class Meta:
        db_table = "exchange_setting"
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="exchange_setting_name_unique_per_user"),
            models.CheckConstraint(
                condition=Q(validation_status__in=KeyValidationStatus.values),
                name="exchange_setting_validation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.exchange}, {self.api_key_hint})"


class _NeedsAttentionManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(attention_at__isnull=False)


class OrderNeedingAttention(Order):
    """Operators' queue (admin): orders flagged by money safety — unknown state, lost at the exchange, …"""

    objects = _NeedsAttentionManager()

    class Meta:
        proxy = True
        verbose_name = "order needing attention"
        verbose_name_plural = "orders needing attention"


class PaperAccount(TimeStampedModel):
    """Dry-run's exchange account for one subscribed bot (trading.gateways.paper): paper money, positions,
    resting orders and recent fills, so a paper run survives restarts like a real account would."""

    subscribed_bot = models.OneToOneField(
        "bots.SubscribedBot", primary_key=True, on_delete=models.CASCADE, related_name="paper_account"
    )
    currency = models.CharField(max_length=16, default="USDT")
    starting_balance = models.DecimalField(max_digits=28, decimal_places=10, default=0)
    balance = models.DecimalField(max_digits=28, decimal_places=10, default=0, help_text="wallet: fees and P&L in")
    positions = models.JSONField(default=dict, blank=True, help_text="{symbol: {amount (signed), entry, leverage}}")
    orders = models.JSONField(default=dict, blank=True, help_text="{client_order_id: order} (open + recent)")

    class Meta:
        db_table = "paper_account"

    def __str__(self) -> str:
        return f"paper {self.balance.normalize()} {self.currency} for bot #{self.subscribed_bot_id}"
