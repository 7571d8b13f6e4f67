"""/api/v1/users: the caller's account, settings and API tokens."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from core.errors import ValidationError
from users import selectors, services
from users.schemas import (
    ApiTokenCreatedOut,
    ApiTokenCreateIn,
    ApiTokenOut,
    LiveTradingConfirmIn,
    ObjectId,
    UserOut,
    UserPatchIn,
)

router = Router(tags=["account"])


@router.get("/me", response=UserOut, summary="Your account")
def me_get(request: HttpRequest):
    return request.auth


@router.patch("/me", response=UserOut, summary="Change e-mail or time zone")
def me_patch(request: HttpRequest, payload: UserPatchIn):
    return services.user_settings_update(user=request.auth, email=payload.email, timezone=payload.timezone)


@router.post("/me/live-trading-confirmation", response=UserOut, summary="Acknowledge live-trading risks")
def me_live_trading_confirm(request: HttpRequest, payload: LiveTradingConfirmIn):
    if not payload.i_understand_the_risks:
        raise ValidationError("i_understand_the_risks must be true", field="i_understand_the_risks")
    return services.user_live_trading_confirm(user=request.auth)


@router.get("/me/tokens", response=list[ApiTokenOut], summary="Your live API tokens (never the tokens themselves)")
def tokens_list(request: HttpRequest):
    return list(selectors.api_token_list_for_user(user=request.auth))


@router.post("/me/tokens", response={201: ApiTokenCreatedOut}, summary="Create an API token (shown once)")
def tokens_create(request: HttpRequest, payload: ApiTokenCreateIn):
    token, plaintext = services.api_token_create(user=request.auth, name=payload.name)
    token.token = plaintext
    return Status(201, token)


@router.delete("/me/tokens/{token_id}", response={204: None}, summary="Revoke an API token")
def tokens_revoke(request: HttpRequest, token_id: ObjectId):
    services.api_token_revoke(user=request.auth, token_id=token_id)
    return Status(204, None)
