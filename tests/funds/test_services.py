"""Funds: listing, subscribing (creates the fund's bots), approval, cancel/resume, e-mails after commit."""

from __future__ import annotations

import pytest
from django.core import mail

from bots.models import BotState, SubscribedBot, SubscriptionStatus
from core.errors import Conflict, NotFound, PermissionDenied
from funds import selectors, services
from funds.models import FundStatus, FundSubscription, FundSubscriptionStatus
from tests.factories import BotFactory, FundBotFactory, FundFactory, UserFactory
from users.models import UserStatus

pytestmark = pytest.mark.django_db


def _fund(*, bots: int = 2, **kwargs):
    fund = FundFactory(**kwargs)
    for _ in range(bots):
        FundBotFactory(fund=fund, bot=BotFactory())
    return fund


def test_fund_list_open_shows_open_funds_with_active_subscriber_counts(django_capture_on_commit_callbacks) -> None:
    open_fund = _fund()
    _fund(status=FundStatus.DRAFT)
    _fund(status=FundStatus.CLOSED)
    with django_capture_on_commit_callbacks(execute=True):
        services.fund_subscribe(user=UserFactory(), fund_id=open_fund.pk)
        services.fund_subscribe(user=UserFactory(), fund_id=open_fund.pk)
        cancelled = services.fund_subscribe(user=UserFactory(), fund_id=open_fund.pk)
        services.fund_subscription_cancel(user=cancelled.user, fund_subscription_id=cancelled.pk)

    funds = list(selectors.fund_list_open())
    assert funds == [open_fund]
    assert funds[0].subscriber_count == 2
    assert len(funds[0].fund_bots.all()) == 2


def test_fund_get_hides_drafts_and_junk_ids() -> None:
    with pytest.raises(NotFound):
        selectors.fund_get(fund_id=_fund(status=FundStatus.DRAFT).pk)
    for junk in [0, -1, "abc", None, 10**30]:
        with pytest.raises(NotFound):
            selectors.fund_get(fund_id=junk)


def test_subscribe_creates_subscription_and_one_stopped_bot_per_fund_bot(django_capture_on_commit_callbacks) -> None:
    user, fund = UserFactory(), _fund(bots=3)
    with django_capture_on_commit_callbacks(execute=True):
        subscription = services.fund_subscribe(user=user, fund_id=fund.pk)

    assert subscription.status == FundSubscriptionStatus.ACTIVE and subscription.started_at is not None
    bots = SubscribedBot.objects.filter(fund_subscription=subscription)
    assert sorted(b.bot_id for b in bots) == sorted(fund.fund_bots.values_list("bot_id", flat=True))
    assert {(b.user_id, b.status, b.state) for b in bots} == {(user.pk, SubscriptionStatus.ACTIVE, BotState.STOPPED)}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email] and fund.name in mail.outbox[0].subject


def test_email_is_sent_only_after_commit(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.fund_subscribe(user=UserFactory(), fund_id=_fund().pk)
    assert mail.outbox == [] and len(callbacks) == 1


def test_user_without_email_gets_no_mail_and_subscription_still_works(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        subscription = services.fund_subscribe(user=UserFactory(email=""), fund_id=_fund().pk)
    assert subscription.status == FundSubscriptionStatus.ACTIVE and mail.outbox == []


def test_failing_mail_server_does_not_undo_the_subscription(settings, django_capture_on_commit_callbacks) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1  # nothing listens
    with django_capture_on_commit_callbacks(execute=True):
        subscription = services.fund_subscribe(user=UserFactory(), fund_id=_fund().pk)
    assert FundSubscription.objects.get(pk=subscription.pk).status == FundSubscriptionStatus.ACTIVE


def test_subscribing_twice_is_a_conflict() -> None:
    user, fund = UserFactory(), _fund()
    services.fund_subscribe(user=user, fund_id=fund.pk)
    with pytest.raises(Conflict):
        services.fund_subscribe(user=user, fund_id=fund.pk)
    assert FundSubscription.objects.count() == 1


@pytest.mark.parametrize("status", [FundStatus.CLOSED])
def test_closed_fund_refuses_subscriptions(status: str) -> None:
    with pytest.raises(Conflict):
        services.fund_subscribe(user=UserFactory(), fund_id=_fund(status=status).pk)


def test_draft_or_missing_fund_is_not_found() -> None:
    for fund_id in [_fund(status=FundStatus.DRAFT).pk, 999_999, -3]:
        with pytest.raises(NotFound):
            services.fund_subscribe(user=UserFactory(), fund_id=fund_id)


def test_fund_without_bots_refuses_subscriptions() -> None:
    with pytest.raises(Conflict):
        services.fund_subscribe(user=UserFactory(), fund_id=_fund(bots=0).pk)


@pytest.mark.parametrize("status", [UserStatus.PENDING, UserStatus.BLOCKED])
def test_inactive_users_cannot_subscribe(status: str) -> None:
    with pytest.raises(PermissionDenied):
        services.fund_subscribe(user=UserFactory(status=status), fund_id=_fund().pk)
    assert FundSubscription.objects.count() == 0 and SubscribedBot.objects.count() == 0


def test_fund_requiring_approval_gives_pending_subscription_until_operator_approves(
    django_capture_on_commit_callbacks,
) -> None:
    user, fund = UserFactory(), _fund(requires_approval=True)
    with django_capture_on_commit_callbacks(execute=True):
        subscription = services.fund_subscribe(user=user, fund_id=fund.pk)
    assert subscription.status == FundSubscriptionStatus.PENDING and subscription.started_at is None
    assert set(subscription.subscribed_bots.values_list("status", flat=True)) == {SubscriptionStatus.PENDING}
    assert "waiting for approval" in mail.outbox[-1].subject

    with django_capture_on_commit_callbacks(execute=True):
        services.fund_subscription_approve(fund_subscription_id=subscription.pk)
    subscription.refresh_from_db()
    assert subscription.status == FundSubscriptionStatus.ACTIVE and subscription.started_at is not None
    assert set(subscription.subscribed_bots.values_list("status", flat=True)) == {SubscriptionStatus.ACTIVE}
    assert "approved" in mail.outbox[-1].subject


def test_approving_a_cancelled_subscription_is_a_conflict() -> None:
    user = UserFactory()
    subscription = services.fund_subscribe(user=user, fund_id=_fund(requires_approval=True).pk)
    services.fund_subscription_cancel(user=user, fund_subscription_id=subscription.pk)
    with pytest.raises(Conflict):
        services.fund_subscription_approve(fund_subscription_id=subscription.pk)


def test_cancel_ends_subscription_and_its_bots_and_mails(django_capture_on_commit_callbacks) -> None:
    user = UserFactory()
    subscription = services.fund_subscribe(user=user, fund_id=_fund().pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.fund_subscription_cancel(user=user, fund_subscription_id=subscription.pk)
    subscription.refresh_from_db()
    assert subscription.status == FundSubscriptionStatus.CANCELLED and subscription.cancelled_at is not None
    assert set(subscription.subscribed_bots.values_list("status", flat=True)) == {SubscriptionStatus.CANCELLED}
    assert "cancelled" in mail.outbox[-1].subject
    # Cancelling again changes nothing and raises nothing.
    services.fund_subscription_cancel(user=user, fund_subscription_id=subscription.pk)


def test_cancel_refused_while_a_fund_bot_is_running() -> None:
    user = UserFactory()
    subscription = services.fund_subscribe(user=user, fund_id=_fund().pk)
    running = subscription.subscribed_bots.first()
    SubscribedBot.objects.filter(pk=running.pk).update(state=BotState.RUNNING)
    with pytest.raises(Conflict, match=running.bot.name):
        services.fund_subscription_cancel(user=user, fund_subscription_id=subscription.pk)
    assert FundSubscription.objects.get(pk=subscription.pk).status == FundSubscriptionStatus.ACTIVE


def test_another_users_subscription_is_not_found() -> None:
    owner, stranger = UserFactory(), UserFactory()
    subscription = services.fund_subscribe(user=owner, fund_id=_fund().pk)
    with pytest.raises(NotFound):
        services.fund_subscription_cancel(user=stranger, fund_subscription_id=subscription.pk)
    with pytest.raises(NotFound):
        services.fund_subscription_resume(user=stranger, fund_subscription_id=subscription.pk)
    assert FundSubscription.objects.get(pk=subscription.pk).status == FundSubscriptionStatus.ACTIVE


def test_resume_reactivates_bots_keeps_settings_and_adds_new_fund_bots() -> None:
    user, fund = UserFactory(), _fund(bots=1)
    subscription = services.fund_subscribe(user=user, fund_id=fund.pk)
    first_bot = subscription.subscribed_bots.get()
    SubscribedBot.objects.filter(pk=first_bot.pk).update(user_bot_setting={"fast": 7})
    services.fund_subscription_cancel(user=user, fund_subscription_id=subscription.pk)
    FundBotFactory(fund=fund, bot=BotFactory())

    resumed = services.fund_subscription_resume(user=user, fund_subscription_id=subscription.pk)

    assert resumed.pk == subscription.pk and resumed.status == FundSubscriptionStatus.ACTIVE
    assert resumed.cancelled_at is None
    bots = list(resumed.subscribed_bots.order_by("id"))
    assert len(bots) == 2 and {b.status for b in bots} == {SubscriptionStatus.ACTIVE}
    assert bots[0].pk == first_bot.pk and bots[0].user_bot_setting == {"fast": 7}


def test_resume_refused_when_fund_closed_or_already_resubscribed() -> None:
    user, fund = UserFactory(), _fund()
    old = services.fund_subscribe(user=user, fund_id=fund.pk)
    services.fund_subscription_cancel(user=user, fund_subscription_id=old.pk)
    services.fund_subscribe(user=user, fund_id=fund.pk)
    with pytest.raises(Conflict):
        services.fund_subscription_resume(user=user, fund_subscription_id=old.pk)

    other = UserFactory()
    sub = services.fund_subscribe(user=other, fund_id=fund.pk)
    services.fund_subscription_cancel(user=other, fund_subscription_id=sub.pk)
    fund.status = FundStatus.CLOSED
    fund.save()
    with pytest.raises(Conflict):
        services.fund_subscription_resume(user=other, fund_subscription_id=sub.pk)


def test_resume_of_pending_fund_goes_back_to_pending() -> None:
    user = UserFactory()
    sub = services.fund_subscribe(user=user, fund_id=_fund(requires_approval=True).pk)
    services.fund_subscription_approve(fund_subscription_id=sub.pk)
    services.fund_subscription_cancel(user=user, fund_subscription_id=sub.pk)
    resumed = services.fund_subscription_resume(user=user, fund_subscription_id=sub.pk)
    assert resumed.status == FundSubscriptionStatus.PENDING
    assert set(resumed.subscribed_bots.values_list("status", flat=True)) == {SubscriptionStatus.PENDING}


def test_subscription_list_for_user_shows_only_own_current_ones() -> None:
    user, other = UserFactory(), UserFactory()
    mine = services.fund_subscribe(user=user, fund_id=_fund().pk)
    ended = services.fund_subscribe(user=user, fund_id=_fund().pk)
    services.fund_subscription_cancel(user=user, fund_subscription_id=ended.pk)
    services.fund_subscribe(user=other, fund_id=_fund().pk)
    assert list(selectors.fund_subscription_list_for_user(user=user)) == [mine]
    assert set(selectors.fund_subscription_list_for_user(user=user, include_ended=True)) == {mine, ended}
