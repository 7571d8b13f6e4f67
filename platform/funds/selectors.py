"""Reads for funds and users' fund subscriptions."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from core.errors import NotFound
from funds.models import Fund, FundBot, FundStatus, FundSubscription, FundSubscriptionStatus
from users.models import User

CURRENT_SUBSCRIPTION_STATUSES = (FundSubscriptionStatus.PENDING, FundSubscriptionStatus.ACTIVE)


def _clean_id(value: object) -> int | None:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number < 2**63 else None


def _with_details(funds: QuerySet[Fund]) -> QuerySet[Fund]:
    return funds.annotate(
        subscriber_count=Count(
            "subscriptions__user",
            filter=Q(subscriptions__status=FundSubscriptionStatus.ACTIVE),
            distinct=True,
        )
    ).prefetch_related(Prefetch("fund_bots", queryset=FundBot.objects.select_related("bot").order_by("-weight", "id")))


def fund_list_open() -> QuerySet[Fund]:
    """Funds open for subscription, each with `subscriber_count` (active subscribers) and its bots."""
    return _with_details(Fund.objects.filter(status=FundStatus.OPEN)).order_by("name", "id")


def fund_get(*, fund_id: int) -> Fund:
    """A published fund (open or closed; drafts are invisible), with `subscriber_count` and bots."""
    pk = _clean_id(fund_id)
    fund = _with_details(Fund.objects.exclude(status=FundStatus.DRAFT)).filter(pk=pk).first() if pk else None
    if fund is None:
        raise NotFound("No such fund.")
    return fund


def fund_subscription_list_for_user(*, user: User, include_ended: bool = False) -> QuerySet[FundSubscription]:
    rows = FundSubscription.objects.filter(user=user).select_related("fund").prefetch_related("subscribed_bots")
    if not include_ended:
        rows = rows.filter(status__in=CURRENT_SUBSCRIPTION_STATUSES)
    return rows.order_by("-created_at", "-id")


def fund_subscription_get_for_user(*, user: User, fund_subscription_id: int) -> FundSubscription:
    """One of the user's fund subscriptions; another user's id is NotFound."""
    pk = _clean_id(fund_subscription_id)
    row = FundSubscription.objects.select_related("fund").filter(pk=pk, user=user).first() if pk else None
    if row is None:
        raise NotFound("No such fund subscription among yours.")
    return row


def fund_subscription_current_for_user(*, user: User, fund: Fund) -> FundSubscription | None:
    return FundSubscription.objects.filter(user=user, fund=fund, status__in=CURRENT_SUBSCRIPTION_STATUSES).first()
