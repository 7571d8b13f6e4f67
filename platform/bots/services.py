"""Writes for subscribed bots: subscribe, settings, run type. Start/stop live in bots.runtime."""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bots.models import Bot, BotKind, BotRun, BotState, RunStatus, RunType, SubscribedBot, SubscriptionStatus
from bots.selectors import CURRENT_STATUSES, bot_get_listed, subscribed_bot_get_for_user
from core.errors import Conflict, NotFound, ValidationError
from users.models import User
from users.services import user_require_active

MAX_SETTINGS_KEYS = 64
MAX_SETTINGS_BYTES = 16_000
STOPPED_STATES = (BotState.STOPPED, BotState.ERROR)


def subscribed_bot_create(
    *, user: User, bot: Bot, status: str, fund_subscription: Any = None, now: Any = None
) -> SubscribedBot:
    """Insert one subscribed bot (building block shared with fund subscriptions; no checks here)."""
    return SubscribedBot.objects.create(
        user=user,
        bot=bot,
        fund_subscription=fund_subscription,
        status=status,
        run_type=RunType.DRY_RUN,
        subscription_start=now or timezone.now(),
    )


@transaction.atomic
def bot_subscribe(*, user: User, bot_id: int) -> SubscribedBot:
    """Subscribe the user to one catalog bot. It starts stopped, in dry-run, with the default settings.

    A second subscription to the same bot is a Conflict whose `extra["subscribed_bot_id"]` names the
    existing one, so a double tap in chat cannot create two instances.
    """
    user_require_active(user)
    bot = bot_get_listed(bot_id=bot_id)
    existing = SubscribedBot.objects.filter(
        user=user, bot=bot, fund_subscription__isnull=True, status__in=CURRENT_STATUSES
    ).first()
    if existing is not None:
        raise Conflict(f"You already have {bot.name}.", extra={"subscribed_bot_id": existing.pk})
    try:
        with transaction.atomic():
            return subscribed_bot_create(user=user, bot=bot, status=SubscriptionStatus.ACTIVE)
    except IntegrityError:
        existing = SubscribedBot.objects.filter(
            user=user, bot=bot, fund_subscription__isnull=True, status__in=CURRENT_STATUSES
        ).first()
        raise Conflict(
            f"You already have {bot.name}.", extra={"subscribed_bot_id": existing.pk if existing else None}
        ) from None


def _require_current(subscribed_bot: SubscribedBot) -> None:
    if subscribed_bot.status not in CURRENT_STATUSES:
        raise Conflict(f"This {subscribed_bot.bot.name} subscription has ended.")


def _check_changes_shape(changes: Any) -> dict:
    if not isinstance(changes, dict) or not changes:
        raise ValidationError("settings: send an object with at least one setting to change", field="settings")
    if len(changes) > MAX_SETTINGS_KEYS:
        raise ValidationError(f"settings: at most {MAX_SETTINGS_KEYS} settings at once", field="settings")
    for key in changes:
        if not isinstance(key, str) or not key or len(key) > 64:
            raise ValidationError("settings: names must be 1–64 characters", field="settings")
    try:
        size = len(json.dumps(changes, allow_nan=False))
    except (TypeError, ValueError):
        message = "settings: values must be plain JSON values (no NaN or Infinity)"
        raise ValidationError(message, field="settings") from None
    if size > MAX_SETTINGS_BYTES:
        raise ValidationError("settings: too large", field="settings")
    return changes


@transaction.atomic
def subscribed_bot_settings_update(*, user: User, subscribed_bot_id: int, changes: dict) -> SubscribedBot:
    """Change some of the user's bot settings; a `None` value resets that setting to the bot's default.

    The merged settings are validated by the bot strategy's parameter schema; on any error nothing is
    saved and the ValidationError names the field and the allowed range. Only settings the user has
    changed are stored (as overrides), normalised by the schema. A running bot picks them up at its
    next tick (the runtime reads the effective settings every tick).
    """
    user_require_active(user)
    changes = _check_changes_shape(changes)
    subscribed_bot = subscribed_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    subscribed_bot = SubscribedBot.objects.select_for_update().select_related("bot").get(pk=subscribed_bot.pk)
    _require_current(subscribed_bot)
    defaults = dict(subscribed_bot.bot.default_setting or {})
    overrides = dict(subscribed_bot.user_bot_setting or {})
    for key, value in changes.items():
        if value is None:
            overrides.pop(key, None)
        else:
            overrides[key] = value
    from trading.strategies.registry import strategy_settings_validate  # imported late: trading imports bots

    validated = strategy_settings_validate(subscribed_bot.bot.strategy, {**defaults, **overrides})
    subscribed_bot.user_bot_setting = {
        key: validated[key] for key in overrides if key in validated and validated[key] != defaults.get(key)
    }
    subscribed_bot.save(update_fields=["user_bot_setting", "updated_at"])
    return subscribed_bot


@transaction.atomic
def subscribed_bot_run_type_set(
    *, user: User, subscribed_bot_id: int, run_type: str, exchange_setting_id: int | None = None
) -> SubscribedBot:
    """Switch a stopped bot between simulation, dry-run and live; optionally attach an exchange key.

    Live needs an active subscription, the user's live-trading confirmation and a validated exchange
    key of the user's own attached (given here or earlier). Indicator bots never trade, so never live.
    """
    from exchanges.models import ExchangeSetting, KeyValidationStatus

    user_require_active(user)
    if run_type not in RunType.values:
        raise ValidationError(f"run_type must be one of {', '.join(RunType.values)}", field="run_type")
    subscribed_bot = subscribed_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    subscribed_bot = (
        SubscribedBot.objects.select_for_update(of=("self",))
        .select_related("bot", "exchange_setting")
        .get(pk=subscribed_bot.pk)
    )
    _require_current(subscribed_bot)
    if subscribed_bot.state not in STOPPED_STATES:
        raise Conflict(f"Stop {subscribed_bot.bot.name} before changing how it runs.")
    if exchange_setting_id is not None:
        key = ExchangeSetting.objects.filter(user=user, pk=exchange_setting_id).first()
        if key is None:
            raise NotFound("No such exchange key among yours.", field="exchange_setting_id")
        subscribed_bot.exchange_setting = key
    if run_type == RunType.LIVE:
        _require_live_allowed(user, subscribed_bot, valid=KeyValidationStatus.VALID)
    subscribed_bot.run_type = run_type
    subscribed_bot.save(update_fields=["run_type", "exchange_setting", "updated_at"])
    return subscribed_bot


def _require_live_allowed(user: User, subscribed_bot: SubscribedBot, *, valid: str) -> None:
    if subscribed_bot.bot.kind == BotKind.INDICATOR:
        raise Conflict(f"{subscribed_bot.bot.name} is an indicator bot: it sends signals and never trades.")
    if subscribed_bot.status != SubscriptionStatus.ACTIVE:
        raise Conflict("This subscription is waiting for operator approval; live trading is not possible yet.")
    if user.live_trading_confirmed_at is None:
        raise Conflict(
            "Live trading uses real money. Confirm that you understand the risks first.",
            field="live_trading_confirmed_at",
        )
    key = subscribed_bot.exchange_setting
    if key is None:
        raise Conflict("Attach one of your exchange keys to this bot before going live.", field="exchange_setting_id")
    if key.validation_status != valid:
        raise Conflict(
            f"Exchange key '{key.name}' is not validated ({key.get_validation_status_display()}). "
            "Check it again before going live.",
            field="exchange_setting_id",
        )


@transaction.atomic
def bot_run_publish_reference(*, run_id: int, published: bool = True) -> BotRun:
    """Operator: publish a finished simulation run as its bot's reference result (or withdraw it).

    The catalog shows each bot's latest published simulation, labelled as a simulation (and as synthetic
    data when it ran on generated prices) — never as track record. Dry-run and live runs cannot be
    published: their results enter the track record on their own. Publishing twice is harmless.
    """
    run = BotRun.objects.select_for_update().select_related("subscribed_bot__bot").filter(pk=run_id).first()
    if run is None:
        raise NotFound("No such run.")
    if published:
        if run.run_type != RunType.SIMULATION:
            raise Conflict(
                f"Run #{run.pk} is a {run.get_run_type_display().lower()} run: only simulations can be published; "
                "dry-run and live results count in the track record by themselves."
            )
        if run.status != RunStatus.FINISHED:
            raise Conflict(f"Simulation #{run.pk} is {run.get_status_display().lower()}: only finished ones can be "
                           "published.")
        if not run.metrics:
            raise Conflict(f"Simulation #{run.pk} has no results to publish.")
    if run.is_reference != published:
        run.is_reference = published
        run.save(update_fields=["is_reference", "updated_at"])
    return run
