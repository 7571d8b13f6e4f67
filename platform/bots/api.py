"""/api/v1/bots: the catalog and the caller's subscribed bots."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field as NinjaField
from ninja import Query, Router, Schema, Status

from bots import selectors, services
from bots.schemas import BotOut, RunTypeIn, SettingsPatchIn, SubscribedBotOut
from users.schemas import ObjectId

router = Router(tags=["bots"])


class CatalogFilter(Schema):
    kind: str | None = NinjaField(None, max_length=16, description="automated, manual or indicator")


@router.get("/catalog", response=list[BotOut], summary="Bots you can subscribe to, with subscribers and track record")
def catalog_list(request: HttpRequest, filters: Query[CatalogFilter]):
    return selectors.bots_track_record_attach(selectors.bot_catalog_list(kind=filters.kind))


@router.get("/catalog/{bot_id}", response=BotOut, summary="One catalog bot")
def catalog_get(request: HttpRequest, bot_id: ObjectId):
    return selectors.bots_track_record_attach([selectors.bot_get_listed(bot_id=bot_id)])[0]


@router.post("/catalog/{bot_id}/subscribe", response={201: SubscribedBotOut}, summary="Subscribe to a bot")
def catalog_subscribe(request: HttpRequest, bot_id: ObjectId):
    subscribed = services.bot_subscribe(user=request.auth, bot_id=bot_id)
    return Status(201, selectors.subscribed_bot_get_for_user(user=request.auth, subscribed_bot_id=subscribed.pk))


@router.get("/mine", response=list[SubscribedBotOut], summary="Your bots")
def mine_list(request: HttpRequest):
    return list(selectors.subscribed_bot_list_for_user(user=request.auth))


@router.get("/mine/{subscribed_bot_id}", response=SubscribedBotOut, summary="One of your bots")
def mine_get(request: HttpRequest, subscribed_bot_id: ObjectId):
    return selectors.subscribed_bot_get_for_user(user=request.auth, subscribed_bot_id=subscribed_bot_id)


@router.patch("/mine/{subscribed_bot_id}/settings", response=SubscribedBotOut, summary="Change your bot's settings")
def mine_settings_update(request: HttpRequest, subscribed_bot_id: ObjectId, payload: SettingsPatchIn):
    services.subscribed_bot_settings_update(
        user=request.auth, subscribed_bot_id=subscribed_bot_id, changes=payload.settings
    )
    return selectors.subscribed_bot_get_for_user(user=request.auth, subscribed_bot_id=subscribed_bot_id)


@router.put("/mine/{subscribed_bot_id}/run-type", response=SubscribedBotOut, summary="Simulation, dry-run or live")
def mine_run_type_set(request: HttpRequest, subscribed_bot_id: ObjectId, payload: RunTypeIn):
    services.subscribed_bot_run_type_set(
        user=request.auth,
        subscribed_bot_id=subscribed_bot_id,
        run_type=payload.run_type,
        exchange_setting_id=payload.exchange_setting_id,
    )
    return selectors.subscribed_bot_get_for_user(user=request.auth, subscribed_bot_id=subscribed_bot_id)
