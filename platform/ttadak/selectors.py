"""Reads for Ttadak. Selectors taking a user are the access check (someone else's id is NotFound)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from bots.models import SubscribedBot
from bots.selectors import subscribed_bot_effective_settings, subscribed_bot_get_for_user
from core.errors import NotFound, ValidationError
from ttadak.models import BLOCKING_STATES, FINAL_STATES, Game, GameState
from ttadak.params import STRATEGY_NAME, ttadak_settings_resolve
from users.models import User

ZERO = Decimal(0)


def ttadak_bot_get_for_user(*, user: User, subscribed_bot_id: int) -> SubscribedBot:
    """One of the user's Ttadak bots; NotFound for other users' bots and for bots of other strategies."""
    subscribed_bot = subscribed_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    if subscribed_bot.bot.strategy != STRATEGY_NAME:
        raise NotFound("That is not a Ttadak bot.")
    return subscribed_bot


def ttadak_bot_list_for_user(*, user: User) -> QuerySet[SubscribedBot]:
    return (SubscribedBot.objects.filter(user=user, bot__strategy=STRATEGY_NAME, status__in=("pending", "active"))
            .select_related("bot", "exchange_setting").order_by("-created_at", "-id"))


def ttadak_settings_get(*, subscribed_bot: SubscribedBot) -> dict[str, Any]:
    """Effective settings (schema defaults < bot defaults < the user's), validated. A ValidationError
    says which setting is wrong (e.g. after an operator changed the bot's defaults)."""
    effective = subscribed_bot_effective_settings(subscribed_bot=subscribed_bot)
    try:
        return ttadak_settings_resolve(effective)
    except ValidationError as exc:
        raise ValidationError(f"Your Ttadak settings are invalid: {exc.message}", field=exc.field) from None


def game_get_for_user(*, user: User, game_id: int) -> Game:
    game = (Game.objects.select_related("subscribed_bot__bot", "entry_order", "exit_order", "close_order")
            .filter(pk=game_id, subscribed_bot__user=user).first())
    if game is None:
        raise NotFound("No such game.")
    return game


def game_list_recent(*, subscribed_bot_id: int, limit: int = 5) -> list[Game]:
    return list(Game.objects.filter(subscribed_bot_id=subscribed_bot_id).order_by("-created_at", "-id")[:limit])


def game_blocking_get(*, subscribed_bot_id: int) -> Game | None:
    """The game in play (or waiting for a person) that keeps a new one from starting, if any."""
    return Game.objects.filter(subscribed_bot_id=subscribed_bot_id, state__in=BLOCKING_STATES).first()


@dataclass(frozen=True)
class GameTotals:
    games: int
    wins: int
    pnl: Decimal
    fees: Decimal

    @property
    def win_rate_pct(self) -> Decimal | None:
        return Decimal(self.wins * 100) / self.games if self.games else None


def game_totals(*, subscribed_bot_id: int, run_id: int | None = None, since: datetime | None = None) -> GameTotals:
    """Finished and failed games' results (P&L after fees) of a bot — of one run, or all time."""
    rows = Game.objects.filter(subscribed_bot_id=subscribed_bot_id, state__in=(GameState.FINISHED, GameState.FAILED),
                               pnl__isnull=False)
    if run_id is not None:
        rows = rows.filter(run_id=run_id)
    if since is not None:
        rows = rows.filter(pressed_at__gte=since)
    agg = rows.aggregate(games=Count("id"), wins=Count("id", filter=Q(pnl__gt=0)), pnl=Sum("pnl"), fees=Sum("fees"))
    return GameTotals(games=agg["games"] or 0, wins=agg["wins"] or 0, pnl=agg["pnl"] or ZERO, fees=agg["fees"] or ZERO)


def ttadak_last_price(*, exchange: str, symbol: str) -> tuple[Decimal | None, str]:
    """The last price of `symbol` and where it comes from: "live" (this process's engine holds a fresh
    one), "candle" / "synthetic_candle" (the latest stored 1-minute close), or (None, "") when unknown."""
    from marketdata.models import Candle
    from marketdata.symbols import symbol_canonical
    from ttadak import host

    current = host.current()
    if current is not None:
        feed = current.engine.feeds.get((exchange, symbol))
        if feed is not None and feed.last is not None and feed.age < 60:
            return feed.last, "live"
    row = (Candle.objects.filter(symbol=symbol_canonical(symbol), timeframe="1m").order_by("-open_time")
           .values_list("close", "exchange").first())
    if row is None:
        return None, ""
    return row[0], "synthetic_candle" if row[1] == "synthetic" else "candle"


@dataclass(frozen=True)
class PanelState:
    """Everything the game panel (chat) and GET /v1/ttadak/bots/{id} show for one Ttadak bot."""

    subscribed_bot: SubscribedBot
    settings: dict[str, Any] | None  # None when the effective settings are invalid (see settings_error)
    settings_error: str
    exchange: str
    last_price: Decimal | None
    last_price_source: str
    in_play: Game | None  # the game in play, or the one waiting for a person
    recent: list[Game]  # the last finished / failed games, newest first
    run_id: int | None  # the run since START, while there is one
    since_start: GameTotals | None
    all_time: GameTotals

    @property
    def symbol(self) -> str | None:
        return self.settings["symbol"] if self.settings is not None else None


def ttadak_panel_get(*, user: User, subscribed_bot_id: int, recent: int = 5) -> PanelState:
    """The panel's figures of one of the user's Ttadak bots (NotFound for anyone else's)."""
    from ttadak.services.activation import current_run, run_exchange

    subscribed_bot = ttadak_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    pk = subscribed_bot.pk
    settings: dict[str, Any] | None
    try:
        settings, settings_error = ttadak_settings_get(subscribed_bot=subscribed_bot), ""
    except ValidationError as error:
        settings, settings_error = None, error.message
    exchange = run_exchange(subscribed_bot)
    price, source = (ttadak_last_price(exchange=exchange, symbol=settings["symbol"]) if settings is not None
                     else (None, ""))
    # One row more than shown: a game still in play is among the newest and is left out.
    ended = [g for g in game_list_recent(subscribed_bot_id=pk, limit=recent + 1) if g.state in FINAL_STATES]
    run = current_run(pk)
    return PanelState(
        subscribed_bot=subscribed_bot, settings=settings, settings_error=settings_error, exchange=exchange,
        last_price=price, last_price_source=source, in_play=game_blocking_get(subscribed_bot_id=pk),
        recent=ended[:recent], run_id=run.pk if run is not None else None,
        since_start=game_totals(subscribed_bot_id=pk, run_id=run.pk) if run is not None else None,
        all_time=game_totals(subscribed_bot_id=pk),
    )


def game_page_for_user(*, user: User, subscribed_bot_id: int, limit: int, offset: int) -> tuple[int, list[Game]]:
    """One page of a Ttadak bot's games, newest first, and how many there are (NotFound for anyone else's)."""
    subscribed_bot = ttadak_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    rows = Game.objects.filter(subscribed_bot=subscribed_bot).order_by("-created_at", "-id")
    return rows.count(), list(rows[offset:offset + limit])


def game_by_key_get(*, subscribed_bot_id: int, idempotency_key: str) -> Game | None:
    return Game.objects.filter(subscribed_bot_id=subscribed_bot_id, idempotency_key=idempotency_key).first()
