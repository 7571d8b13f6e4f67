"""/api/v1/funds: open funds and the caller's fund subscriptions."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from funds import selectors, services
from funds.schemas import FundOut, FundSubscriptionOut
from users.schemas import ObjectId

router = Router(tags=["funds"])


@router.get("", response=list[FundOut], summary="Funds open for subscription")
def fund_list(request: HttpRequest):
    return selectors.funds_track_record_attach(selectors.fund_list_open())


@router.get("/subscriptions", response=list[FundSubscriptionOut], summary="Your fund subscriptions")
def subscription_list(request: HttpRequest, include_ended: bool = False):
    return list(selectors.fund_subscription_list_for_user(user=request.auth, include_ended=include_ended))


@router.get("/subscriptions/{subscription_id}", response=FundSubscriptionOut, summary="One of your subscriptions")
def subscription_get(request: HttpRequest, subscription_id: ObjectId):
    return selectors.fund_subscription_get_for_user(user=request.auth, fund_subscription_id=subscription_id)


@router.post("/subscriptions/{subscription_id}/cancel", response=FundSubscriptionOut, summary="Cancel")
def subscription_cancel(request: HttpRequest, subscription_id: ObjectId):
    return services.fund_subscription_cancel(user=request.auth, fund_subscription_id=subscription_id)


@router.post("/subscriptions/{subscription_id}/resume", response=FundSubscriptionOut, summary="Resume")
def subscription_resume(request: HttpRequest, subscription_id: ObjectId):
    return services.fund_subscription_resume(user=request.auth, fund_subscription_id=subscription_id)


@router.get("/{fund_id}", response=FundOut, summary="One fund")
def fund_get(request: HttpRequest, fund_id: ObjectId):
    return selectors.funds_track_record_attach([selectors.fund_get(fund_id=fund_id)])[0]


@router.post("/{fund_id}/subscribe", response={201: FundSubscriptionOut}, summary="Subscribe to a fund")
def fund_subscribe(request: HttpRequest, fund_id: ObjectId):
    return Status(201, services.fund_subscribe(user=request.auth, fund_id=fund_id))
