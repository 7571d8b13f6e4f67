"""Reads for the bot catalog and users' subscribed bots. Selectors taking a user are the access check."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from bots.models import Bot, BotKind, SubscribedBot, SubscriptionStatus
from core.errors import NotFound, ValidationError
from users.models import User

CURRENT_STATUSES = (SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE)


def _clean_id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number < 2**63 else None


def bot_catalog_list(*, kind: str | None = None) -> QuerySet[Bot]:
    """Listed bots, grouped by kind then name. An unknown kind is a ValidationError naming the choices."""
    bots = Bot.objects.filter(is_listed=True)
    if kind:
        if kind not in BotKind.values:
            raise ValidationError(f"kind must be one of {', '.join(BotKind.values)}", field="kind")
        bots = bots.filter(kind=kind)
    return bots.order_by("kind", "name", "id")


def bot_get_listed(*, bot_id: int) -> Bot:
    pk = _clean_id(bot_id)
    bot = Bot.objects.filter(pk=pk, is_listed=True).first() if pk else None
    if bot is None:
        raise NotFound("No such bot in the catalog.")
    return bot


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
