"""Writes for fund subscriptions: subscribe (creates the fund's bots for the user), cancel, resume, approve."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from bots.models import BotState, SubscribedBot, SubscriptionStatus
from bots.services import subscribed_bot_create
from core.errors import Conflict, NotFound
from funds.models import Fund, FundStatus, FundSubscription, FundSubscriptionStatus
from funds.selectors import _clean_id, fund_subscription_current_for_user, fund_subscription_get_for_user
from users.models import User
from users.services import user_require_active

_RUNNING_STATES = (BotState.STARTING, BotState.RUNNING, BotState.STOPPING)
# FundSubscription status -> status of its subscribed bots.
_BOT_STATUS = {
    FundSubscriptionStatus.PENDING: SubscriptionStatus.PENDING,
    FundSubscriptionStatus.ACTIVE: SubscriptionStatus.ACTIVE,
    FundSubscriptionStatus.CANCELLED: SubscriptionStatus.CANCELLED,
    FundSubscriptionStatus.EXPIRED: SubscriptionStatus.EXPIRED,
}


def _fund_for_subscribe(fund_id: int) -> Fund:
    pk = _clean_id(fund_id)
    fund = Fund.objects.select_for_update().filter(pk=pk).exclude(status=FundStatus.DRAFT).first() if pk else None
    if fund is None:
        raise NotFound("No such fund.")
    if fund.status != FundStatus.OPEN:
        raise Conflict(f"{fund.name} is closed to new subscriptions.")
    if not fund.fund_bots.exists():
        raise Conflict(f"{fund.name} has no bots yet.")
    return fund


def _bots_sync(subscription: FundSubscription, *, now) -> None:
    """Give the subscription one subscribed bot per fund bot, all with the subscription's status."""
    status = _BOT_STATUS[subscription.status]
    SubscribedBot.objects.filter(fund_subscription=subscription).update(status=status, updated_at=now)
    have = set(SubscribedBot.objects.filter(fund_subscription=subscription).values_list("bot_id", flat=True))
    for fund_bot in subscription.fund.fund_bots.select_related("bot").order_by("id"):
        if fund_bot.bot_id not in have:
            subscribed_bot_create(
                user=subscription.user, bot=fund_bot.bot, status=status, fund_subscription=subscription, now=now
            )


def _activate_or_hold(subscription: FundSubscription, *, now) -> None:
    if subscription.fund.requires_approval:
        subscription.status = FundSubscriptionStatus.PENDING
        subscription.started_at = None
    else:
        subscription.status = FundSubscriptionStatus.ACTIVE
        subscription.started_at = now


@transaction.atomic
def fund_subscribe(*, user: User, fund_id: int) -> FundSubscription:
    """Subscribe the user to an open fund: one FundSubscription plus one SubscribedBot per fund bot.

    Pending (bots pending too) when the fund requires operator approval, else active. The bots start
    stopped in dry-run. The user is told through the notifications outbox (chat, e-mail) after commit.
    """
    user_require_active(user)
    fund = _fund_for_subscribe(fund_id)
    if fund_subscription_current_for_user(user=user, fund=fund) is not None:
        raise Conflict(f"You are already subscribed to {fund.name}.")
    now = timezone.now()
    subscription = FundSubscription(user=user, fund=fund)
    _activate_or_hold(subscription, now=now)
    try:
        with transaction.atomic():
            subscription.save()
    except IntegrityError:
        raise Conflict(f"You are already subscribed to {fund.name}.") from None
    _bots_sync(subscription, now=now)
    _notify_after_commit(subscription, "subscribed")
    return subscription


@transaction.atomic
def fund_subscription_cancel(*, user: User, fund_subscription_id: int) -> FundSubscription:
    """Cancel a pending or active fund subscription and its bots (they must be stopped first).

    Also the operator's cancel (called with the subscription's owner). Cancelling twice is harmless.
    """
    subscription = fund_subscription_get_for_user(user=user, fund_subscription_id=fund_subscription_id)
    subscription = FundSubscription.objects.select_for_update().select_related("fund", "user").get(pk=subscription.pk)
    if subscription.status in (FundSubscriptionStatus.CANCELLED, FundSubscriptionStatus.EXPIRED):
        return subscription
    running = list(
        SubscribedBot.objects.filter(fund_subscription=subscription, state__in=_RUNNING_STATES)
        .select_related("bot")
        .order_by("id")
    )
    if running:
        names = ", ".join(row.bot.name for row in running)
        raise Conflict(f"Stop these bots before cancelling {subscription.fund.name}: {names}.")
    now = timezone.now()
    subscription.status = FundSubscriptionStatus.CANCELLED
    subscription.cancelled_at = now
    subscription.save(update_fields=["status", "cancelled_at", "updated_at"])
    _bots_status_set(subscription, now=now)
    _notify_after_commit(subscription, "cancelled")
    return subscription


def _bots_status_set(subscription: FundSubscription, *, now) -> None:
    SubscribedBot.objects.filter(fund_subscription=subscription).update(
        status=_BOT_STATUS[subscription.status], updated_at=now
    )


@transaction.atomic
def fund_subscription_resume(*, user: User, fund_subscription_id: int) -> FundSubscription:
    """Re-open a cancelled subscription (pending again if the fund requires approval).

    Bots added to the fund since are added; the bots keep the user's settings. A current subscription
    is returned as it is.
    """
    user_require_active(user)
    subscription = fund_subscription_get_for_user(user=user, fund_subscription_id=fund_subscription_id)
    subscription = FundSubscription.objects.select_for_update().select_related("fund", "user").get(pk=subscription.pk)
    if subscription.status in (FundSubscriptionStatus.PENDING, FundSubscriptionStatus.ACTIVE):
        return subscription
    fund = subscription.fund
    if subscription.status == FundSubscriptionStatus.EXPIRED:
        raise Conflict(f"This {fund.name} subscription has expired; subscribe again.")
    if fund.status != FundStatus.OPEN:
        raise Conflict(f"{fund.name} is closed to new subscriptions.")
    if fund_subscription_current_for_user(user=user, fund=fund) is not None:
        raise Conflict(f"You already have a current subscription to {fund.name}.")
    now = timezone.now()
    _activate_or_hold(subscription, now=now)
    subscription.cancelled_at = None
    subscription.save(update_fields=["status", "started_at", "cancelled_at", "updated_at"])
    _bots_sync(subscription, now=now)
    _notify_after_commit(subscription, "resumed")
    return subscription


@transaction.atomic
def fund_subscription_approve(*, fund_subscription_id: int) -> FundSubscription:
    """Operator: activate a pending subscription and its bots. Approving an active one is harmless."""
    subscription = (
        FundSubscription.objects.select_for_update().select_related("fund", "user").filter(pk=fund_subscription_id)
    ).first()
    if subscription is None:
        raise NotFound("No such fund subscription.")
    if subscription.status == FundSubscriptionStatus.ACTIVE:
        return subscription
    if subscription.status != FundSubscriptionStatus.PENDING:
        raise Conflict(f"Only pending subscriptions can be approved (this one is {subscription.status}).")
    now = timezone.now()
    subscription.status = FundSubscriptionStatus.ACTIVE
    subscription.started_at = now
    subscription.save(update_fields=["status", "started_at", "updated_at"])
    _bots_status_set(subscription, now=now)
    _notify_after_commit(subscription, "approved")
    return subscription


def _notify_after_commit(subscription: FundSubscription, event: str) -> None:
    # The notifications outbox: rows written in this transaction, delivered (e-mail, chats) after commit.
    from notifications.hooks import fund_subscription_notify

    fund_subscription_notify(subscription=subscription, event=event)

