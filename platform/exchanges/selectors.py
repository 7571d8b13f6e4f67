"""Reads of exchange keys. Taking the user makes these the authorization check as well."""

from __future__ import annotations

from django.db.models import QuerySet

from core.errors import NotFound
from exchanges.models import ExchangeSetting


def exchange_setting_list_for_user(*, user) -> QuerySet[ExchangeSetting]:
    """The user's keys, newest first (ciphertext stays in the rows; show only `api_key_hint`)."""
    return ExchangeSetting.objects.filter(user=user).order_by("-created_at", "-pk")


def exchange_setting_get_for_user(*, user, exchange_setting_id: int) -> ExchangeSetting:
    """One of the user's keys; NotFound for a missing id and for anybody else's."""
    setting = ExchangeSetting.objects.filter(user=user, pk=exchange_setting_id).first()
    if setting is None:
        raise NotFound("No such exchange key among yours.", field="exchange_setting_id")
    return setting
