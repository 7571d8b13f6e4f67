"""Exchange API keys: validate with the exchange, store encrypted, check again, delete, rotate encryption.

Keys are write-only: after saving, only `api_key_hint` (abcd…wxyz) is ever shown. Plaintext exists in
memory only, through `exchange_credentials_get`, at the moment a client is created.
"""

from __future__ import annotations

import logging
import re

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.crypto import decrypt_text, encrypt_text, mask_secret, rotate_token
from core.errors import Conflict, TemporaryError, ValidationError
from exchanges.credentials import Credentials
from exchanges.models import ExchangeSetting, KeyValidationStatus
from exchanges.selectors import exchange_setting_get_for_user
from trading.gateways import errors as gw
from trading.gateways.base import KeyCheck

logger = logging.getLogger(__name__)

__all__ = [
    "Credentials", "exchange_credentials_get", "exchange_key_validate", "exchange_setting_check",
    "exchange_setting_create", "exchange_setting_delete", "exchange_setting_keys_replace",
    "exchange_settings_reencrypt",
]

_KEY_TEXT = re.compile(r"^[\x21-\x7e]{8,512}$")  # printable ASCII, no spaces
UNREACHABLE = ("The exchange could not be reached to check the key, so nothing was saved. "
               "Try again in a minute.")


def exchange_credentials_get(*, exchange_setting: ExchangeSetting) -> Credentials:
    """Decrypt a saved key pair in memory. The result's repr hides both parts; never log its fields."""
    return Credentials(
        exchange=exchange_setting.exchange,
        api_key=decrypt_text(exchange_setting.api_key_encrypted),
        api_secret=decrypt_text(exchange_setting.api_secret_encrypted),
        exchange_setting_id=exchange_setting.pk,
        key_version=exchange_setting.key_version,
    )


def exchange_key_validate(*, credentials: Credentials) -> KeyCheck:
    """Ask the exchange about the key with signed calls (permissions, futures balance).

    Returns a KeyCheck (valid or not, with a user-facing message); raises TemporaryError when the exchange
    cannot answer now, so callers never record a guess.
    """
    from trading.gateways.pool import LiveGatewayPool

    async def check() -> KeyCheck:
        async with LiveGatewayPool() as pool:
            gateway = await pool.gateway_for_credentials(credentials)
            return await gateway.check_key()

    try:
        return async_to_sync(check)()
    except gw.TemporaryGatewayError as error:
        logger.warning("key validation for %s could not reach the exchange: %s", credentials.exchange, error)
        raise TemporaryError(UNREACHABLE) from None
    except gw.GatewayError as error:
        return KeyCheck(valid=False, message=error.user_message, checked_at=timezone.now())


def _clean_key_text(value: str, field: str, label: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(f"The {label} is required.", field=field)
    if not _KEY_TEXT.match(text):
        raise ValidationError(
            f"The {label} does not look right: it should be 8–512 characters without spaces. "
            "Copy it again from the exchange.", field=field,
        )
    return text


def _clean_inputs(*, user, name: str, exchange: str, api_key: str, api_secret: str) -> tuple[str, str, str, str]:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError("Give the key a name of 1–100 characters, e.g. 'Main futures'.", field="name")
    if exchange not in settings.SUPPORTED_EXCHANGES:
        supported = ", ".join(settings.SUPPORTED_EXCHANGES)
        raise ValidationError(f"Exchange {exchange!r} is not supported; use one of: {supported}.", field="exchange")
    if ExchangeSetting.objects.filter(user=user, name=name).exists():
        raise ValidationError(f"You already have a key named '{name}'. Pick another name.", field="name")
    api_key = _clean_key_text(api_key, "api_key", "API key")
    api_secret = _clean_key_text(api_secret, "api_secret", "API secret")
    return name, exchange, api_key, api_secret


def _ensure_not_saved_twice(*, user, exchange: str, api_key: str) -> None:
    hint = mask_secret(api_key)
    for existing in ExchangeSetting.objects.filter(user=user, exchange=exchange, api_key_hint=hint):
        if decrypt_text(existing.api_key_encrypted) == api_key:
            raise ValidationError(f"This key is already saved as '{existing.name}'.", field="api_key")


def _apply_check(setting: ExchangeSetting, check: KeyCheck) -> None:
    setting.validation_status = KeyValidationStatus.VALID if check.valid else KeyValidationStatus.INVALID
    setting.validation_message = check.message[:300]
    setting.validated_at = check.checked_at or timezone.now()
    setting.can_trade = check.can_trade
    setting.can_trade_futures = check.can_trade_futures
    setting.can_withdraw = check.can_withdraw


def exchange_setting_create(*, user, name: str, exchange: str, api_key: str, api_secret: str) -> ExchangeSetting:
    """Validate a key with the exchange, then save it encrypted. A key the exchange refuses is not saved
    (ValidationError with the reason); an unreachable exchange saves nothing either (TemporaryError).
    A key that can withdraw funds is saved with a loud warning in its validation message.
    """
    name, exchange, api_key, api_secret = _clean_inputs(
        user=user, name=name, exchange=exchange, api_key=api_key, api_secret=api_secret
    )
    _ensure_not_saved_twice(user=user, exchange=exchange, api_key=api_key)
    check = exchange_key_validate(credentials=Credentials(exchange=exchange, api_key=api_key, api_secret=api_secret))
    if not check.valid:
        raise ValidationError(check.message, field=check.field or "api_key")
    setting = ExchangeSetting(
        user=user, name=name, exchange=exchange, api_key_encrypted=encrypt_text(api_key),
        api_secret_encrypted=encrypt_text(api_secret), api_key_hint=mask_secret(api_key),
    )
    _apply_check(setting, check)
    try:
        with transaction.atomic():
            setting.save()
    except IntegrityError:
        raise ValidationError(f"You already have a key named '{name}'. Pick another name.", field="name") from None
    if check.can_withdraw:
        logger.warning("exchange key %s of user %s can withdraw funds", setting.pk, user.pk)
    return setting


def exchange_setting_keys_replace(*, user, exchange_setting_id: int, api_key: str, api_secret: str) -> ExchangeSetting:
    """Swap the key pair of a saved setting (bots stay attached); validated first, like create."""
    setting = exchange_setting_get_for_user(user=user, exchange_setting_id=exchange_setting_id)
    api_key = _clean_key_text(api_key, "api_key", "API key")
    api_secret = _clean_key_text(api_secret, "api_secret", "API secret")
    check = exchange_key_validate(
        credentials=Credentials(exchange=setting.exchange, api_key=api_key, api_secret=api_secret)
    )
    if not check.valid:
        raise ValidationError(check.message, field=check.field or "api_key")
    with transaction.atomic():
        setting = ExchangeSetting.objects.select_for_update().get(pk=setting.pk)
        setting.api_key_encrypted = encrypt_text(api_key)
        setting.api_secret_encrypted = encrypt_text(api_secret)
        setting.api_key_hint = mask_secret(api_key)
        setting.key_version += 1
        _apply_check(setting, check)
        setting.save()
    return setting


def exchange_setting_check(*, user, exchange_setting_id: int) -> KeyCheck:
    """Validate a saved key again and record the outcome (status, message, permissions, time)."""
    setting = exchange_setting_get_for_user(user=user, exchange_setting_id=exchange_setting_id)
    check = exchange_key_validate(credentials=exchange_credentials_get(exchange_setting=setting))
    with transaction.atomic():
        setting = ExchangeSetting.objects.select_for_update().get(pk=setting.pk)
        _apply_check(setting, check)
        setting.save(update_fields=["validation_status", "validation_message", "validated_at", "can_trade",
                                    "can_trade_futures", "can_withdraw", "updated_at"])
    return check


@transaction.atomic
def exchange_setting_delete(*, user, exchange_setting_id: int) -> None:
    """Delete a key unless live bots run on it or its orders are still open at the exchange."""
    from bots.models import FINAL_ORDER_STATUSES, BotState, Order, RunType, SubscribedBot

    setting = exchange_setting_get_for_user(user=user, exchange_setting_id=exchange_setting_id)
    setting = ExchangeSetting.objects.select_for_update().get(pk=setting.pk)
    running = SubscribedBot.objects.filter(
        exchange_setting=setting, run_type=RunType.LIVE,
        state__in=[BotState.STARTING, BotState.RUNNING, BotState.STOPPING],
    ).select_related("bot")
    if running:
        names = ", ".join(sorted({s.bot.name for s in running}))
        raise Conflict(f"Stop the live bots using key '{setting.name}' first: {names}.")
    open_orders = Order.objects.filter(exchange_setting=setting).exclude(status__in=FINAL_ORDER_STATUSES).count()
    if open_orders:
        raise Conflict(f"{open_orders} order(s) placed with key '{setting.name}' are not final yet; cancel them or "
                       "wait until they are filled or reconciled, then delete the key.")
    setting.delete()


def exchange_settings_reencrypt(*, batch_size: int = 500) -> int:
    """Re-encrypt every saved key and secret with the newest FIELD_ENCRYPTION_KEY. Returns rows changed.

    Each row is rotated in its own short transaction with a row lock, so a concurrent key replacement
    is never overwritten with stale ciphertext.
    """
    changed = 0
    ids = list(ExchangeSetting.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        for pk in ids[start:start + batch_size]:
            with transaction.atomic():
                row = ExchangeSetting.objects.select_for_update().filter(pk=pk).first()
                if row is None:
                    continue
                ExchangeSetting.objects.filter(pk=pk).update(
                    api_key_encrypted=rotate_token(row.api_key_encrypted),
                    api_secret_encrypted=rotate_token(row.api_secret_encrypted),
                )
                changed += 1
    return changed
