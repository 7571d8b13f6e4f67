"""/api/v1/exchange-settings: the caller's exchange API keys (write-only secrets)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from exchanges import selectors, services
from exchanges.schemas import ExchangeSettingCreateIn, ExchangeSettingOut, KeyCheckOut
from users.schemas import ObjectId

router = Router(tags=["exchange keys"])


@router.post("", response={201: ExchangeSettingOut}, summary="Add a key (validated with the exchange first)")
def exchange_setting_create(request: HttpRequest, payload: ExchangeSettingCreateIn):
    setting = services.exchange_setting_create(
        user=request.auth, name=payload.name, exchange=payload.exchange, api_key=payload.api_key,
        api_secret=payload.api_secret,
    )
    return Status(201, setting)


@router.get("", response=list[ExchangeSettingOut], summary="Your keys (masked)")
def exchange_setting_list(request: HttpRequest):
    return list(selectors.exchange_setting_list_for_user(user=request.auth))


@router.get("/{exchange_setting_id}", response=ExchangeSettingOut, summary="One of your keys (masked)")
def exchange_setting_get(request: HttpRequest, exchange_setting_id: ObjectId):
    return selectors.exchange_setting_get_for_user(user=request.auth, exchange_setting_id=exchange_setting_id)


@router.post("/{exchange_setting_id}/check", response=KeyCheckOut, summary="Check a key with the exchange again")
def exchange_setting_check(request: HttpRequest, exchange_setting_id: ObjectId):
    return services.exchange_setting_check(user=request.auth, exchange_setting_id=exchange_setting_id)


@router.delete("/{exchange_setting_id}", response={204: None}, summary="Delete a key")
def exchange_setting_delete(request: HttpRequest, exchange_setting_id: ObjectId):
    services.exchange_setting_delete(user=request.auth, exchange_setting_id=exchange_setting_id)
    return Status(204, None)
