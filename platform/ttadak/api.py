"""/api/v1/ttadak: the game panel of the caller's own Ttadak bots — state, games, BUY / SELL, CLOSE NOW.

Handlers parse, call one service or selector (ttadak.selectors, ttadak.services.play) and format. A press
goes through the same `GameEngine.press` as a chat press (this process's engine host), with the client's
idempotency key: a repeated key returns the first game (200, `duplicate: true`), never a second one.
Money is sent as decimal strings; times as ISO-8601 UTC.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Header, Query, Router, Schema, Status

from core.errors import ValidationError
from ttadak import selectors
from ttadak.models import Game
from ttadak.services import games as game_services
from ttadak.services import play
from users.schemas import ObjectId, StrictIn

router = Router(tags=["ttadak"])

SIDES = {"BUY": "long", "SELL": "short"}
KEY_PATTERN = r"^[A-Za-z0-9_.:\-]{1,100}$"


# --- schemas -------------------------------------------------------------------------------------------------------


class TotalsOut(Schema):
    games: int = Field(description="finished and failed games with a result")
    wins: int
    pnl: Decimal = Field(description="after fees, quote currency")
    fees: Decimal


class GameBriefOut(Schema):
    id: int
    subscribed_bot_id: int
    run_id: int
    run_type: str
    side: str = Field(description="BUY or SELL (BUY GAME goes long, SELL GAME short)")
    state: str = Field(description="sending, open, closing, finished, failed or attention")
    symbol: str
    leverage: int
    amount: Decimal = Field(description="base units, both legs")
    reference_price: Decimal
    entry_price: Decimal | None
    exit_limit_price: Decimal
    stop_loss_price: Decimal | None
    close_price: Decimal | None
    gross_pnl: Decimal | None
    fees: Decimal | None
    pnl: Decimal | None = Field(description="after fees; null until the game has ended flat")
    yield_pct: Decimal | None = Field(description="P&L after fees in % of the margin")
    close_reason: str = Field(description="target, stop_loss, timeout, leg_failed, manual, unknown or empty")
    message: str
    surface: str = Field(description="where it was pressed: telegram, slack, terminal or api")
    pressed_at: datetime
    sent_at: datetime | None
    deadline_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None = Field(description="from the orders' sending to the end")
    seconds_left: int | None = Field(description="while open: until the time limit closes it")

    @staticmethod
    def resolve_side(obj: Game) -> str:
        return "BUY" if obj.side == "long" else "SELL"

    @staticmethod
    def resolve_duration_seconds(obj: Game) -> float | None:
        if obj.finished_at is None or obj.sent_at is None:
            return None
        return round((obj.finished_at - obj.sent_at).total_seconds(), 3)

    @staticmethod
    def resolve_seconds_left(obj: Game) -> int | None:
        if obj.state != "open":
            return None
        return max(0, int((obj.deadline_at - timezone.now()).total_seconds()))


class LegOut(Schema):
    id: int
    purpose: str = Field(description="entry, exit or close")
    client_order_id: str
    exchange_order_id: str
    side: str
    type: str
    reduce_only: bool
    status: str
    amount: Decimal
    filled: Decimal
    price: Decimal | None
    average: Decimal | None = Field(description="average fill price")
    fee: Decimal
    fee_currency: str
    last_error: str
    submitted_at: datetime | None
    filled_at: datetime | None


class GameOut(GameBriefOut):
    legs: list[LegOut] = Field(description="entry, exit and any close orders, oldest first")

    @staticmethod
    def resolve_legs(obj: Game) -> list[Any]:
        return game_services.game_legs(obj)


class GamePageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[GameBriefOut] = Field(description="newest first")


class PanelOut(Schema):
    subscribed_bot_id: int
    name: str
    state: str
    state_reason: str
    run_type: str
    exchange: str
    symbol: str | None
    settings: dict[str, Any] | None = Field(description="the settings in force (null when they are invalid)")
    settings_error: str
    last_price: Decimal | None
    last_price_source: str = Field(description="live, candle, synthetic_candle, or empty when unknown")
    game_in_play: GameBriefOut | None = Field(description="the game in play or waiting for a person")
    can_close_now: bool = Field(description="the game in play can be ended now (POST …/games/{id}/close)")
    run_id: int | None
    since_start: TotalsOut | None = Field(description="the run since START, while the bot is started")
    all_time: TotalsOut


class PressIn(StrictIn):
    side: Literal["BUY", "SELL"] = Field(description="BUY GAME (long) or SELL GAME (short)")
    idempotency_key: str | None = Field(None, pattern=KEY_PATTERN,
                                        description="or the Idempotency-Key header; one key = one game")


class PressOut(Schema):
    duplicate: bool = Field(description="the key was used before: this is that press's game")
    message: str
    game: GameBriefOut


class CloseOut(Schema):
    message: str
    game: GameOut


class PageQuery(Schema):
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000)


# --- endpoints -----------------------------------------------------------------------------------------------------


def _panel_out(state: selectors.PanelState) -> dict[str, Any]:
    bot = state.subscribed_bot
    return {
        "subscribed_bot_id": bot.pk, "name": bot.bot.name, "state": bot.state, "state_reason": bot.state_reason,
        "run_type": bot.run_type, "exchange": state.exchange, "symbol": state.symbol, "settings": state.settings,
        "settings_error": state.settings_error, "last_price": state.last_price,
        "last_price_source": state.last_price_source, "game_in_play": state.in_play,
        "can_close_now": state.in_play is not None and state.in_play.state in play.CLOSABLE_STATES,
        "run_id": state.run_id, "since_start": state.since_start, "all_time": state.all_time,
    }


@router.get("/bots/{subscribed_bot_id}", response=PanelOut, summary="The game panel of one of your Ttadak bots")
def panel_get(request: HttpRequest, subscribed_bot_id: ObjectId):
    return _panel_out(selectors.ttadak_panel_get(user=request.auth, subscribed_bot_id=subscribed_bot_id))


@router.get("/bots/{subscribed_bot_id}/games", response=GamePageOut, summary="A Ttadak bot's games, newest first")
def games_list(request: HttpRequest, subscribed_bot_id: ObjectId, page: Query[PageQuery]):
    count, items = selectors.game_page_for_user(user=request.auth, subscribed_bot_id=subscribed_bot_id,
                                                limit=page.limit, offset=page.offset)
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": items}


@router.post("/bots/{subscribed_bot_id}/press", response={200: PressOut, 201: PressOut},
             summary="BUY GAME / SELL GAME (201: a new game; 200: the key's earlier game)")
def press(request: HttpRequest, subscribed_bot_id: ObjectId, payload: PressIn,
          idempotency_key: str | None = Header(None, alias="Idempotency-Key", pattern=KEY_PATTERN)):
    keys = {key for key in (idempotency_key, payload.idempotency_key) if key}
    if len(keys) != 1:
        raise ValidationError("Send one idempotency key (the Idempotency-Key header or the body's "
                              "idempotency_key): a retry with the same key never starts a second game.",
                              field="idempotency_key")
    outcome = play.game_press_via_api(user=request.auth, subscribed_bot_id=subscribed_bot_id,
                                      side=SIDES[payload.side], key=keys.pop())
    return Status(200 if outcome.duplicate else 201,
                  {"duplicate": outcome.duplicate, "message": outcome.text, "game": outcome.game})


@router.get("/games/{game_id}", response=GameOut, summary="One of your Ttadak games, with its orders")
def game_get(request: HttpRequest, game_id: ObjectId):
    return selectors.game_get_for_user(user=request.auth, game_id=game_id)


@router.post("/games/{game_id}/close", response=CloseOut,
             summary="CLOSE NOW: end a game in play at market (409 when it has already ended)")
def game_close(request: HttpRequest, game_id: ObjectId):
    outcome = play.game_close_now(user=request.auth, game_id=game_id)
    return {"message": outcome.text, "game": outcome.game}
