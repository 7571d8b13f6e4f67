from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import TimeStampedModel


class FundPeriod(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    YEARLY = "yearly", "Yearly"


class FundStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open for subscription"
    CLOSED = "closed", "Closed"


class Fund(TimeStampedModel):
    """A bundle of bots sold as one subscription."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="")
    fee = models.DecimalField(max_digits=12, decimal_places=2, default=0, help_text="per period")
    currency = models.CharField(max_length=8, default="USDT")
    period = models.CharField(max_length=16, choices=FundPeriod.choices, default=FundPeriod.MONTHLY)
    status = models.CharField(max_length=16, choices=FundStatus.choices, default=FundStatus.DRAFT, db_index=True)
    requires_approval = models.BooleanField(default=False, help_text="an operator approves each subscription")
    bots = models.ManyToManyField("bots.Bot", through="FundBot", related_name="funds")

    class Meta:
        db_table = "fund"
        constraints = [
            models.CheckConstraint(condition=Q(period__in=FundPeriod.values), name="fund_period_valid"),
            models.CheckConstraint(condition=Q(status__in=FundStatus.values), name="fund_status_valid"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="fund_fee_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class FundBot(models.Model):
    fund = models.ForeignKey(Fund, on_delete=models.CASCADE, related_name="fund_bots")
    bot = models.ForeignKey("bots.Bot", on_delete=models.PROTECT, related_name="fund_memberships")
    weight = models.DecimalField(max_digits=6, decimal_places=4, default=1, help_text="share of the fund, 0–1")

    class Meta:
        db_table = "fund_bot"
        constraints = [
            models.UniqueConstraint(fields=["fund", "bot"], name="fund_bot_unique"),
            models.CheckConstraint(condition=Q(weight__gt=0) & Q(weight__lte=1), name="fund_bot_weight_range"),
        ]

    def __str__(self) -> str:
        return f"{self.bot} in {self.fund} ({self.weight})"


class FundSubscriptionStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class FundSubscription(TimeStampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="fund_subscriptions")
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(
        max_length=16, choices=FundSubscriptionStatus.choices, default=FundSubscriptionStatus.ACTIVE
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "fund_subscription"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=FundSubscriptionStatus.values), name="fund_subscription_status_valid"
            ),
            # One live subscription per user and fund; cancelled/expired ones stay as history.
            models.UniqueConstraint(
                fields=["user", "fund"],
                condition=Q(status__in=["pending", "active"]),
                name="fund_subscription_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.fund} ({self.status})"
