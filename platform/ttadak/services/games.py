"""The database side of a game: persisting the press (game + both order intents, one transaction),
then recording what the exchange did — open, wound down, finished — with P&L after fees.

The event-loop side (sending, watching, closing) is ttadak.engine; it calls these through
sync_to_async. Every state change is a conditional UPDATE on the current state, so two processes
that both try to end a game (the chat process's watcher and the Celery sweep) cannot both do it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from bots.events import bot_event_record
from bots.models import BotEventKind, BotState, Order, OrderSide, OrderStatus, OrderType, RunType, SubscribedBot, Trade
from core.errors import Conflict, NotFound, PermissionDenied
from core.fastinsert import PreparedInsert, driver_transaction
from trading.orders.placement import OrderIntent, client_order_id_for
from ttadak import gamemath
from ttadak.models import BLOCKING_STATES, CloseReason, Game, GameSide, GameState
from ttadak.params import fee_rates
from users.models import ChatIdentity, User, UserStatus

ZERO = Decimal(0)


class SessionStale(Exception):
    """The bot's row changed since the chat process warmed it (settings, state): warm again, then press."""


@dataclass(frozen=True)
class GamePlan:
    """Everything decided before anything is written (pure; see ttadak.engine.plan_game)."""

    side: str
    symbol: str
    amount: Decimal
    leverage: int
    reference_price: Decimal
    exit_price: Decimal
    max_duration: timedelta  # the game's deadline is this long after the press
    settings: dict[str, Any]
    entry: OrderIntent
    exit: OrderIntent


@dataclass(frozen=True)
class PressTarget:
    """Who pressed, where the panel is (so the result can edit it in place)."""

    surface: str
    external_user_id: str
    team_id: str = ""
    chat_id: str = ""
    message_id: str = ""


def leg_key(game_key: str, leg: str) -> str:
    return f"{game_key}:{leg}"


@dataclass(frozen=True)
class PressScope:
    """The warm session's view of the bot a press is for (the row must still say so at the press)."""

    subscribed_bot_id: int
    user_id: int
    run_id: int
    run_type: str
    exchange: str
    exchange_setting_id: int | None
    version: datetime  # the subscribed bot's updated_at when the session was warmed


def leg_order(scope: PressScope, intent: OrderIntent, key: str) -> Order:
    """The order row of one leg — exactly what trading.orders.placement.order_prepare_many writes for the
    same intent and key (status "submitting", client order id derived from the key; a test keeps the two
    identical), built without its per-order lookups so both legs go in with one INSERT."""
    if scope.run_type == RunType.LIVE and scope.exchange_setting_id is None:
        raise Conflict("A live order needs an exchange key attached to the bot.", field="exchange_setting_id")
    return Order(
        trade_id=intent.trade_id, subscribed_bot_id=scope.subscribed_bot_id, run_id=scope.run_id,
        run_type=scope.run_type, exchange=scope.exchange,
        exchange_setting_id=scope.exchange_setting_id if scope.run_type == RunType.LIVE else None,
        client_order_id=client_order_id_for(subscribed_bot_id=scope.subscribed_bot_id, idempotency_key=key),
        idempotency_key=key, status=OrderStatus.SUBMITTING, symbol=intent.symbol, type=OrderType(intent.type),
        side=intent.side, reduce_only=intent.reduce_only, price=intent.price, amount=intent.amount,
        remaining=intent.amount, purpose=intent.purpose[:32],
    )


# One statement: the bot's state, whether its row is still the one the session was warmed from, whether
# its owner is active, and whether the chat identity that pressed belongs to that owner.
_CHECK_SELECT = (
    f'SELECT b."state", b."updated_at" = %s, u."status", EXISTS (SELECT 1 FROM "{ChatIdentity._meta.db_table}" i '
    'WHERE i."user_id" = b."user_id" AND i."surface" = %s AND i."team_id" = %s AND i."external_user_id" = %s)'
)
_CHECK_FROM = (
    f' FROM "{SubscribedBot._meta.db_table}" b JOIN "{User._meta.db_table}" u ON u."id" = b."user_id" '
    'WHERE b."id" = %s AND b."user_id" = %s'
)
_CHECK_SQL = _CHECK_SELECT + _CHECK_FROM
# On PostgreSQL the check also draws the three rows' keys from their sequences, so that both INSERTs
# (which then return nothing) leave with the COMMIT: two round trips for the press instead of four.
_CHECK_AND_KEYS_SQL = _CHECK_SELECT + "".join(
    f""", nextval(pg_get_serial_sequence('"{model._meta.db_table}"', 'id'))""" for model in (Order, Order, Game)
) + _CHECK_FROM  # entry, exit, game
CHAT_SURFACES = ("telegram", "slack", "terminal")


def press_legs(scope: PressScope, plan: GamePlan, idempotency_key: str) -> list[Order]:
    """The two (unsaved) order rows of a press: entry, exit."""
    return [leg_order(scope, plan.entry, leg_key(idempotency_key, "entry")),
            leg_order(scope, plan.exit, leg_key(idempotency_key, "exit"))]


@dataclass
class PreparedPress:
    """A press's three rows — both legs and the game — built, with their INSERT values prepared
    (`core.fastinsert.PreparedInsert`), so that the press's transaction only runs its statements.

    Prepared at the press, or before it for a button of the panel on show (the engine's sign-ahead),
    when the press's key and the price are known. Who pressed where, the press's time and the legs'
    keys are bound at the commit. Used once: the commit gives the rows their primary keys."""

    scope: PressScope
    plan: GamePlan
    idempotency_key: str
    legs: list[Order]
    game: Game
    legs_insert: PreparedInsert
    game_insert: PreparedInsert


# Columns of the game bound at the commit; every other value is prepared with the press.
_GAME_LATE = ("pressed_at", "deadline_at", "created_at", "updated_at", "entry_order_id", "exit_order_id", "surface",
              "team_id", "external_user_id", "chat_id", "message_id")


def game_press_prepare(*, scope: PressScope, plan: GamePlan, idempotency_key: str) -> PreparedPress:
    """The rows of a press of `plan` with key `idempotency_key` (nothing is written; no query)."""
    legs = press_legs(scope, plan, idempotency_key)
    entry, exit_ = legs
    game = Game(
        subscribed_bot_id=scope.subscribed_bot_id, run_id=scope.run_id, run_type=scope.run_type,
        idempotency_key=idempotency_key, side=plan.side, state=GameState.SENDING, exchange=scope.exchange,
        symbol=plan.symbol, leverage=plan.leverage, amount=plan.amount, settings=plan.settings,
        reference_price=plan.reference_price, exit_limit_price=plan.exit_price, entry_order=entry, exit_order=exit_,
    )
    given_keys = connection.vendor == "postgresql"  # the check draws the keys (_CHECK_AND_KEYS_SQL)
    return PreparedPress(scope=scope, plan=plan, idempotency_key=idempotency_key, legs=legs, game=game,
                         legs_insert=PreparedInsert(legs, late=("created_at", "updated_at"), given_keys=given_keys),
                         game_insert=PreparedInsert([game], late=_GAME_LATE, given_keys=given_keys))


def game_press_persist(press: PreparedPress, *, target: PressTarget, pressed_at: datetime) -> tuple[Game, bool]:
    """The press in one short transaction: a check of the bot's row, both legs' orders (status
    "submitting", client order ids derived from the press's key) in one INSERT, the game. Returns
    (game, created); a repeated key (a double tap, a redelivered callback) returns the first game.

    Raises NotFound (not the user's bot), Conflict (stopped, or a game still in play), SessionStale.
    It is the press's hot path, so its three statements run prepared on the driver's cursor
    (`driver_transaction`); the press's legs (`press.legs`) get their primary keys. On PostgreSQL the
    check draws the keys, and both INSERTs leave with the COMMIT: two round trips in all.
    """
    scope, game, (entry, exit_) = press.scope, press.game, press.legs
    given_keys = press.game_insert.given_keys
    try:
        with driver_transaction() as cursor:
            cursor.execute(_CHECK_AND_KEYS_SQL if given_keys else _CHECK_SQL, [
                connection.ops.adapt_datetimefield_value(scope.version), target.surface, target.team_id,
                target.external_user_id, scope.subscribed_bot_id, scope.user_id])
            row = cursor.fetchone()
            if row is None or (target.surface in CHAT_SURFACES and not row[3]):
                raise NotFound("That is not one of your bots.")
            if row[2] != UserStatus.ACTIVE:
                raise PermissionDenied("Your account cannot play right now.")
            if row[0] != BotState.RUNNING:
                raise Conflict("Ttadak is not started. Press START on the panel first.")
            if not row[1]:
                raise SessionStale()
            if given_keys:
                entry.pk, exit_.pk, game.pk = row[4:7]
            press.legs_insert.execute(cursor)
            game.entry_order, game.exit_order = entry, exit_  # their keys, now known
            game.pressed_at, game.deadline_at = pressed_at, pressed_at + press.plan.max_duration
            game.surface, game.team_id, game.external_user_id = target.surface, target.team_id, target.external_user_id
            game.chat_id, game.message_id = target.chat_id, target.message_id
            press.game_insert.execute(cursor)
            return game, True
    except IntegrityError:
        # The same key again (its orders' client order ids are taken), or another game went in play first.
        existing = (Game.objects.select_related("entry_order", "exit_order")
                    .filter(idempotency_key=press.idempotency_key).first())
        if existing is not None:
            return existing, False
        _refuse_in_play(scope.subscribed_bot_id)
        raise


def _refuse_in_play(subscribed_bot_id: int) -> None:
    blocking = Game.objects.filter(subscribed_bot_id=subscribed_bot_id, state__in=BLOCKING_STATES).first()
    if blocking is None:
        return
    if blocking.state == GameState.ATTENTION:
        raise Conflict(f"Game #{blocking.pk} needs attention before a new one can start: {blocking.message}")
    raise Conflict(f"Game #{blocking.pk} is still in play; one game at a time.")


def game_press_check(*, subscribed_bot_id: int) -> None:
    """Why a press would be refused right now (for the panel), raising Conflict; None when it can go."""
    _refuse_in_play(subscribed_bot_id)


def game_load(game_id: int) -> Game:
    return (Game.objects.select_related("entry_order", "exit_order", "close_order", "subscribed_bot__bot", "trade")
            .get(pk=game_id))


def game_timings_save(*, game_id: int, timings: dict[str, int], sent_at: datetime) -> None:
    Game.objects.filter(pk=game_id).update(timings=timings, sent_at=sent_at, updated_at=timezone.now())


def game_state_claim(*, game_id: int, from_states: tuple[str, ...], to: str, **fields: Any) -> bool:
    """Move the game to `to` only if it is in one of `from_states`; True when this caller won."""
    return bool(Game.objects.filter(pk=game_id, state__in=from_states).update(state=to, updated_at=timezone.now(),
                                                                               **fields))


def game_state_get(*, game_id: int) -> str | None:
    return Game.objects.filter(pk=game_id).values_list("state", flat=True).first()


def game_watch_bump(*, game_id: int, until: datetime) -> None:
    Game.objects.filter(pk=game_id).update(monitored_until=until)


@transaction.atomic
def game_open_mark(*, game_id: int, stop_loss_price: Decimal, watched_until: datetime) -> Game | None:
    """Both legs are at the exchange and the entry filled: the game is in play, with an open Trade."""
    if not game_state_claim(game_id=game_id, from_states=(GameState.SENDING,), to=GameState.OPEN,
                            stop_loss_price=stop_loss_price, monitored_until=watched_until):
        return None
    game = game_load(game_id)
    entry = game.entry_order
    game.entry_price = entry.average
    trade = Trade.objects.create(
        subscribed_bot_id=game.subscribed_bot_id, run_id=game.run_id, run_type=game.run_type, exchange=game.exchange,
        pair=game.symbol, side=game.side, leverage=game.leverage, amount=entry.filled, entry_price=entry.average,
        stop_loss=stop_loss_price, take_profit=game.exit_limit_price, opened_at=entry.filled_at or timezone.now(),
    )
    game.trade = trade
    game.save(update_fields=["entry_price", "trade", "updated_at"])
    Order.objects.filter(pk__in=[game.entry_order_id, game.exit_order_id]).update(trade=trade)
    return game


def game_legs(game: Game) -> list[Order]:
    """Every order of the game: entry, exit and any close attempts (their keys share the game's prefix)."""
    return list(Order.objects.filter(run_id=game.run_id, idempotency_key__startswith=f"{game.idempotency_key}:")
                .order_by("pk"))


def _signed(order: Order) -> Decimal:
    return order.filled if order.side == OrderSide.BUY else -order.filled


def net_position(legs: list[Order]) -> Decimal:
    """Base units the game's own fills leave open: + long, − short. Zero when it is flat."""
    return sum((_signed(order) for order in legs), ZERO)


def _fee(order: Order, maker: Decimal, taker: Decimal) -> Decimal:
    """The exchange's commission when it told us; else the user's fee level (limit: maker, market: taker)."""
    if order.fee:
        return order.fee
    if not order.filled or order.average is None:
        return ZERO
    rate = maker if order.type == OrderType.LIMIT else taker
    return order.filled * order.average * rate


@dataclass(frozen=True)
class Result:
    gross: Decimal
    fees: Decimal
    pnl: Decimal
    yield_pct: Decimal | None
    close_price: Decimal | None


def game_result(game: Game, all_legs: list[Order]) -> Result | None:
    """P&L after fees from the legs' fills (cash flow: sells − buys − fees); None unless flat."""
    legs = [order for order in all_legs if order.filled and order.average is not None]
    if not legs or net_position(legs) != 0:
        return None
    maker, taker = fee_rates(game.settings)
    gross = sum((o.filled * o.average * (1 if o.side == OrderSide.SELL else -1) for o in legs), ZERO)
    fees = sum((_fee(o, maker, taker) for o in legs), ZERO)
    pnl = gross - fees
    opening_side = OrderSide.BUY if game.side == GameSide.LONG else OrderSide.SELL
    opening = [o for o in legs if o.purpose == "entry"] or [legs[0]]
    closing = [o for o in legs if o.side != opening_side]
    entry_price = opening[0].average
    used = gamemath.margin(amount=opening[0].filled, price=entry_price, leverage=game.leverage)
    closed_qty = sum((o.filled for o in closing), ZERO)
    close_price = (sum((o.filled * o.average for o in closing), ZERO) / closed_qty) if closed_qty else None
    return Result(gross=gross, fees=fees, pnl=pnl, yield_pct=(pnl / used * 100) if used else None,
                  close_price=close_price)


@transaction.atomic
def game_conclude(*, game_id: int, reason: str, message: str = "",
                  from_states: tuple[str, ...] = (GameState.SENDING, GameState.OPEN, GameState.CLOSING,
                                                  GameState.ATTENTION)) -> Game | None:
    """Record the end: `finished` (target, stop loss, time, stop) or `failed` (a leg failed), with
    P&L after fees. The game must be flat; otherwise use game_attention_set."""
    game = game_load(game_id)
    if game.state not in from_states:
        return None
    legs = game_legs(game)
    result = game_result(game, legs)
    legs_filled = any(order.filled for order in legs)
    if legs_filled and result is None:
        raise ValueError(f"game {game_id} is not flat; it cannot be concluded")
    now = timezone.now()
    game.state = GameState.FAILED if reason == CloseReason.LEG_FAILED else GameState.FINISHED
    game.close_reason, game.message, game.finished_at = reason, message[:500], now
    if result is not None:
        game.gross_pnl, game.fees, game.pnl = result.gross, result.fees, result.pnl
        game.yield_pct = result.yield_pct.quantize(Decimal("0.0001")) if result.yield_pct is not None else None
        game.close_price = result.close_price
        _close_trade(game, legs, result, reason, now)
    game.save()
    _conclude_event(game)
    return game


def _close_trade(game: Game, legs: list[Order], result: Result, reason: str, now: datetime) -> None:
    trade = game.trade
    if trade is None:
        opening = next(o for o in legs if o.filled)
        trade = Trade.objects.create(
            subscribed_bot_id=game.subscribed_bot_id, run_id=game.run_id, run_type=game.run_type,
            exchange=game.exchange, pair=game.symbol, side=game.side, leverage=game.leverage,
            amount=opening.filled, entry_price=opening.average, take_profit=game.exit_limit_price,
            opened_at=opening.filled_at or now,
        )
        game.trade = trade
    trade.is_open = False
    trade.exit_price = result.close_price
    trade.realized_pnl, trade.fee, trade.fee_currency = result.pnl, result.fees, "USDT"
    trade.exit_reason, trade.closed_at = reason, now
    trade.save()
    Order.objects.filter(pk__in=[o.pk for o in legs]).update(trade=trade)


def result_line(game: Game) -> str:
    """"BUY GAME #12: +2.58 USDT (+8.6 %) after fees · target reached · 14 s"."""
    parts = [f"{game.get_side_display()} #{game.pk}:"]
    if game.pnl is not None:
        sign = "+" if game.pnl > 0 else ""
        parts.append(f"{sign}{game.pnl.quantize(Decimal('0.01'))} USDT")
        if game.yield_pct is not None:
            parts.append(f"({sign}{game.yield_pct.quantize(Decimal('0.1'))} %) after fees")
    else:
        parts.append("no position")
    if game.close_reason:
        parts.append(f"· {game.get_close_reason_display().lower()}")
    if game.finished_at and game.sent_at:
        parts.append(f"· {(game.finished_at - game.sent_at).total_seconds():.0f} s")
    return " ".join(parts)


def _conclude_event(game: Game) -> None:
    line = result_line(game)
    if game.state == GameState.FAILED:
        bot_event_record(subscribed_bot_id=game.subscribed_bot_id, run_id=game.run_id, kind=BotEventKind.ERROR,
                         message=f"{line}. {game.message}", data={"game_id": game.pk, "reason": game.close_reason})
    else:
        bot_event_record(subscribed_bot_id=game.subscribed_bot_id, run_id=game.run_id,
                         kind=BotEventKind.TRADE_CLOSED, message=line,
                         data={"game_id": game.pk, "pnl": str(game.pnl), "reason": game.close_reason})


@transaction.atomic
def game_attention_set(*, game_id: int, message: str) -> Game | None:
    """The platform could not confirm a leg or close the position: a person must look."""
    from trading.orders.attention import order_attention_flag

    game = game_load(game_id)
    if game.state in (GameState.FINISHED, GameState.FAILED):
        return None
    first_time = game.state != GameState.ATTENTION
    game.state, game.message = GameState.ATTENTION, message[:500]
    game.save(update_fields=["state", "message", "updated_at"])
    for order in game_legs(game):
        if order.status in (OrderStatus.UNKNOWN, OrderStatus.SUBMITTING, OrderStatus.OPEN):
            order_attention_flag(order=order, reason=message[:300])
    if first_time:
        bot_event_record(subscribed_bot_id=game.subscribed_bot_id, run_id=game.run_id, kind=BotEventKind.ERROR,
                         message=f"{game.get_side_display()} #{game.pk} needs attention: {message}",
                         data={"game_id": game.pk, "attention": True})
    return game


def game_close_order_attach(*, game_id: int, order_id: int) -> None:
    Game.objects.filter(pk=game_id).update(close_order_id=order_id, updated_at=timezone.now())


def game_close_attempt_next(*, game_id: int) -> int:
    """Count a closing attempt; its number keys the close order (a retry never re-sends an old one)."""
    from django.db.models import F

    Game.objects.filter(pk=game_id).update(close_attempts=F("close_attempts") + 1)
    return Game.objects.values_list("close_attempts", flat=True).get(pk=game_id)
