"""Reads for funds and users' fund subscriptions."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from bots.selectors import TRACK_RECORD_RUN_TYPES, bot_track_records, track_record_summary, track_record_window
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


# --- track record -------------------------------------------------------------------------------------------

_PCT = Decimal("0.01")


def _weighted(parts: list[tuple[Decimal, Decimal]]) -> Decimal | None:
    total = sum((weight for weight, _ in parts), Decimal(0))
    if not parts or total <= 0:
        return None
    return (sum((weight * value for weight, value in parts), Decimal(0)) / total).quantize(_PCT, rounding=ROUND_HALF_UP)


def _fund_run_type(fund_bots: list[Any], records: dict[int, dict[str, Any]], kind: str) -> dict[str, Any]:
    covered = [(fb.weight, records[fb.bot_id][kind]) for fb in fund_bots
               if records[fb.bot_id][kind]["return_pct"] is not None]
    return {
        "return_pct": _weighted([(weight, part["return_pct"]) for weight, part in covered]),
        "bot_count": sum(part["bot_count"] for _, part in covered),
        "trade_count": sum(part["trade_count"] or 0 for _, part in covered) if covered else None,
        "withheld": not covered and any(records[fb.bot_id][kind]["withheld"] for fb in fund_bots),
        "fund_bots_covered": len(covered),
    }


def _fund_simulation(fund_bots: list[Any], records: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    covered = [(fb.weight, records[fb.bot_id]["simulation"]) for fb in fund_bots
               if (records[fb.bot_id]["simulation"] or {}).get("return_pct") is not None]
    if not covered:
        return None
    periods = {(part["start"], part["end"]) for _, part in covered}
    start, end = periods.pop() if len(periods) == 1 else (None, None)
    drawdowns = [(weight, part["max_drawdown_pct"]) for weight, part in covered if part["max_drawdown_pct"] is not None]
    return {
        "return_pct": _weighted([(weight, part["return_pct"]) for weight, part in covered]),
        # The bots' own drawdowns, weight-averaged: the fund's simulations were not run as one portfolio.
        "max_drawdown_pct": _weighted(drawdowns),
        "trades": sum(part["trades"] or 0 for _, part in covered),
        "start": start,
        "end": end,
        "synthetic": any(part["synthetic"] for _, part in covered),
        "fund_bots_covered": len(covered),
    }


def fund_track_records(*, funds: Iterable[Fund]) -> dict[int, dict[str, Any]]:
    """Track record of many funds (their bots' figures weight-averaged by the fund's weights), from one
    batch of bot track records (bots.selectors.bot_track_records): no query per fund or bot.

    Only bots with a published figure count, re-weighted among themselves; `fund_bots_covered` says how
    many of the fund's `fund_bot_count` bots that is. Live and dry-run stay separate; simulations too.
    `funds` should come with `fund_bots` prefetched (fund_list_open / fund_get do).
    """
    funds = list(funds)
    members = {fund.pk: list(fund.fund_bots.all()) for fund in funds}
    now = timezone.now()
    records = bot_track_records(bot_ids=[fb.bot_id for rows in members.values() for fb in rows], now=now)
    result = {}
    for fund in funds:
        fund_bots = members[fund.pk]
        record: dict[str, Any] = {
            **track_record_window(now),
            "fund_bot_count": len(fund_bots),
            **{str(kind): _fund_run_type(fund_bots, records, kind) for kind in TRACK_RECORD_RUN_TYPES},
            "simulation": _fund_simulation(fund_bots, records),
        }
        result[fund.pk] = track_record_summary(record)
    return result


def fund_track_record(*, fund_id: int) -> dict[str, Any]:
    """One published fund's track record (see fund_track_records). NotFound for drafts and unknown ids."""
    fund = fund_get(fund_id=fund_id)
    return fund_track_records(funds=[fund])[fund.pk]


def funds_track_record_attach(funds: Iterable[Fund]) -> list[Fund]:
    """The funds, each with `.track_record` (one batch for the whole list)."""
    funds = list(funds)
    records = fund_track_records(funds=funds)
    for fund in funds:
        fund.track_record = records[fund.pk]
    return funds
