"""Reads for the bot catalog and users' subscribed bots. Selectors taking a user are the access check."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, DecimalField, Max, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from bots.models import Bot, BotKind, BotRun, RunStatus, RunType, SubscribedBot, SubscriptionStatus, Trade
from core.errors import NotFound, ValidationError
from users.models import User

CURRENT_STATUSES = (SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE)

# Track record: realised results of the bot's dry-run and live runs, all subscribers pooled, over this window.
TRACK_RECORD_DAYS = 30
# Fewer accounts than this and a pooled figure would be one person's (or two people's) own result: withheld.
TRACK_RECORD_MIN_ACCOUNTS = 3
TRACK_RECORD_RUN_TYPES = (RunType.LIVE, RunType.DRY_RUN)
_PCT = Decimal("0.01")


def _clean_id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number < 2**63 else None


def _listed() -> QuerySet[Bot]:
    # Subscribers: people with an active instance of the bot (on its own or through a fund).
    return Bot.objects.filter(is_listed=True).annotate(
        subscriber_count=Count(
            "subscriptions__user", filter=Q(subscriptions__status=SubscriptionStatus.ACTIVE), distinct=True
        )
    )


def bot_catalog_list(*, kind: str | None = None) -> QuerySet[Bot]:
    """Listed bots with `subscriber_count`, grouped by kind then name. An unknown kind is a ValidationError
    naming the choices."""
    bots = _listed()
    if kind:
        if kind not in BotKind.values:
            raise ValidationError(f"kind must be one of {', '.join(BotKind.values)}", field="kind")
        bots = bots.filter(kind=kind)
    return bots.order_by("kind", "name", "id")


def bot_get_listed(*, bot_id: int) -> Bot:
    """One listed bot with `subscriber_count`; NotFound otherwise."""
    pk = _clean_id(bot_id)
    bot = _listed().filter(pk=pk).first() if pk else None
    if bot is None:
        raise NotFound("No such bot in the catalog.")
    return bot


# --- track record -------------------------------------------------------------------------------------------


def _pct(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number.quantize(_PCT, rounding=ROUND_HALF_UP) if number.is_finite() and abs(number) < 10**15 else None


def _capital_by_instance(bot_ids: list[int], since: datetime, now: datetime) -> list[dict[str, Any]]:
    """Per subscribed bot and run type: the largest starting equity of its runs that traded in the window.

    One grouped query. A run counts when it started before `now` and was still running at `since`.
    """
    starting_equity = Cast(KeyTextTransform("starting_equity", "parameters"),
                           DecimalField(max_digits=28, decimal_places=10))
    return list(
        BotRun.objects.filter(
            subscribed_bot__bot_id__in=bot_ids,
            run_type__in=TRACK_RECORD_RUN_TYPES,
            status__in=(RunStatus.RUNNING, RunStatus.FINISHED),
            started_at__lt=now,
        )
        .filter(Q(finished_at__isnull=True) | Q(finished_at__gte=since))
        .values("subscribed_bot_id", "subscribed_bot__bot_id", "subscribed_bot__user_id", "run_type")
        .annotate(capital=Max(starting_equity))
    )


def _realised_by_instance(bot_ids: list[int], since: datetime, now: datetime) -> dict[tuple[int, str], dict]:
    """Per (subscribed bot, run type): realised P&L after fees and count of the trades closed in the window."""
    rows = (
        Trade.objects.filter(
            subscribed_bot__bot_id__in=bot_ids,
            run_type__in=TRACK_RECORD_RUN_TYPES,
            is_open=False,
            closed_at__gte=since,
            closed_at__lt=now,
        )
        .values("subscribed_bot_id", "run_type")
        .annotate(pnl=Sum("realized_pnl"), trades=Count("id"))
    )
    return {(row["subscribed_bot_id"], row["run_type"]): row for row in rows}


def _reference_simulations(bot_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The latest published (reference) finished simulation of each bot."""
    rows = (
        BotRun.objects.filter(
            subscribed_bot__bot_id__in=bot_ids,
            is_reference=True,
            run_type=RunType.SIMULATION,
            status=RunStatus.FINISHED,
        )
        .order_by("-finished_at", "-id")
        .values("subscribed_bot__bot_id", "metrics", "parameters", "finished_at")
    )
    latest: dict[int, dict[str, Any]] = {}
    for row in rows:
        latest.setdefault(row["subscribed_bot__bot_id"], row)
    return latest


def _run_type_record(instances: list[dict[str, Any]], realised: dict[tuple[int, str], dict]) -> dict[str, Any]:
    """Pooled over the bot's instances of one run type: Σ realised P&L / Σ starting capital."""
    capital, pnl, trades, accounts = Decimal(0), Decimal(0), 0, set()
    bot_count = 0
    for row in instances:
        if not row["capital"] or row["capital"] <= 0:
            continue  # a run without a known starting equity cannot be expressed as a return
        bot_count += 1
        accounts.add(row["subscribed_bot__user_id"])
        capital += row["capital"]
        result = realised.get((row["subscribed_bot_id"], row["run_type"]))
        if result is not None:
            pnl += result["pnl"] or 0
            trades += result["trades"]
    enough = bot_count > 0 and len(accounts) >= TRACK_RECORD_MIN_ACCOUNTS
    return {
        "return_pct": _pct(pnl / capital * 100) if enough else None,
        "bot_count": bot_count,
        "trade_count": trades if enough else None,
        "withheld": bot_count > 0 and not enough,
    }


def _simulation_record(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    metrics, params = row["metrics"] or {}, row["parameters"] or {}
    return {
        "return_pct": _pct(metrics.get("total_return_pct")),
        "max_drawdown_pct": _pct(metrics.get("max_drawdown_pct")),
        "trades": metrics.get("trades"),
        "start": str(params.get("start") or "")[:10] or None,
        "end": str(params.get("end") or "")[:10] or None,
        "synthetic": bool(params.get("synthetic")),
        "published_run_finished_at": row["finished_at"],
    }


def track_record_window(now: datetime) -> dict[str, Any]:
    """The period every track record covers, as the record states it."""
    return {
        "period": f"the last {TRACK_RECORD_DAYS} days",
        "period_days": TRACK_RECORD_DAYS,
        "since": now - timedelta(days=TRACK_RECORD_DAYS),
    }


def track_record_summary(record: dict[str, Any]) -> dict[str, Any]:
    """Adds the headline keys: `return_pct` of the realest published kind (live, else dry-run — named in
    `return_run_type`, never a mix) and `simulation_return_pct` / `simulation_max_drawdown_pct`."""
    headline = next((kind for kind in TRACK_RECORD_RUN_TYPES if record[kind]["return_pct"] is not None), None)
    simulation = record.get("simulation") or {}
    record.update(
        return_pct=record[headline]["return_pct"] if headline else None,
        return_run_type=str(headline) if headline else None,
        simulation_return_pct=simulation.get("return_pct"),
        simulation_max_drawdown_pct=simulation.get("max_drawdown_pct"),
    )
    return record


def bot_track_records(*, bot_ids: Iterable[int], now: datetime | None = None) -> dict[int, dict[str, Any]]:
    """Track record and reference simulation of many bots with three queries, whatever their number.

    Per bot: `live` and `dry_run` (never mixed; simulations never count) — `return_pct` is the realised
    profit after fees of the trades closed in the last TRACK_RECORD_DAYS days by every subscriber's
    instance, divided by the capital those instances started with; `bot_count` instances it is based on;
    withheld (`return_pct` None, `withheld` True) when fewer than TRACK_RECORD_MIN_ACCOUNTS accounts ran
    it, so nobody's own result can be read off. `simulation`: the latest finished simulation operators
    published as the bot's reference (None if none). Only percentages and counts leave this function.
    """
    ids = sorted({int(pk) for pk in bot_ids})
    if not ids:
        return {}
    now = now or timezone.now()
    window = track_record_window(now)
    since = window["since"]
    realised = _realised_by_instance(ids, since, now)
    instances: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for row in _capital_by_instance(ids, since, now):
        instances.setdefault((row["subscribed_bot__bot_id"], row["run_type"]), []).append(row)
    references = _reference_simulations(ids)
    records = {}
    for bot_id in ids:
        record: dict[str, Any] = {
            **window,
            **{str(kind): _run_type_record(instances.get((bot_id, kind), []), realised)
               for kind in TRACK_RECORD_RUN_TYPES},
            "simulation": _simulation_record(references.get(bot_id)),
        }
        records[bot_id] = track_record_summary(record)
    return records


def bot_track_record(*, bot_id: int) -> dict[str, Any]:
    """One bot's track record and reference simulation (see bot_track_records)."""
    pk = _clean_id(bot_id)
    if pk is None:
        raise NotFound("No such bot in the catalog.")
    return bot_track_records(bot_ids=[pk])[pk]


def bots_track_record_attach(bots: Iterable[Bot]) -> list[Bot]:
    """The bots, each with `.track_record` (one batch for the whole list: no query per bot)."""
    bots = list(bots)
    records = bot_track_records(bot_ids=[bot.pk for bot in bots])
    for bot in bots:
        bot.track_record = records[bot.pk]
    return bots


def subscribed_bot_list_for_user(*, user: User, include_ended: bool = False) -> QuerySet[SubscribedBot]:
    """The user's bots (pending and active; with `include_ended` also cancelled/expired), newest first."""
    rows = SubscribedBot.objects.filter(user=user).select_related(
        "bot", "fund_subscription__fund", "exchange_setting"
    )
    if not include_ended:
        rows = rows.filter(status__in=CURRENT_STATUSES)
    return rows.order_by("-created_at", "-id")


def subscribed_bot_get_for_user(*, user: User, subscribed_bot_id: int) -> SubscribedBot:
    """One of the user's bots. Someone else's id (or a missing one) is NotFound, never "forbidden"."""
    pk = _clean_id(subscribed_bot_id)
    row = (
        SubscribedBot.objects.select_related("bot", "fund_subscription__fund", "exchange_setting")
        .filter(pk=pk, user=user)
        .first()
        if pk
        else None
    )
    if row is None:
        raise NotFound("No such bot among yours.")
    return row


def subscribed_bot_effective_settings(*, subscribed_bot: SubscribedBot) -> dict:
    """The settings a run uses: the catalog defaults overlaid with the user's overrides."""
    return {**(subscribed_bot.bot.default_setting or {}), **(subscribed_bot.user_bot_setting or {})}
