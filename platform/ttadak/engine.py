"""The game engine: from a press to two orders at the exchange, then watching the game to its end.

One engine per event loop of a chat process (Telegram: aiogram's loop; Slack / terminal: a thread
of its own, see ttadak.host). It keeps a *warm session* per running Ttadak bot — settings resolved,
market rules loaded, leverage set, the account's ccxt client open with two keep-alive connections and
the burst rate limiter (trading.gateways.ratelimit) instead of ccxt's 200 ms spacing — and a live
price per symbol. A press then does only what must happen before the orders leave:

    plan (pure: sizes, exit price) → both legs built and signed by ccxt, parked at a gate (sendgate)
                                   → meanwhile one transaction: game + both orders "submitting"
                                   → gate opens: both signed requests written back to back

Everything else — fills, fees, the Trade row, the panel edit, the stop-loss / time-limit watch —
happens after the orders are out. The deadline and the stop level are in the database, and
`monitored_until` tells the Celery sweep (ttadak.sweep) which games nobody is watching any more, so a
restart never leaves a game unwatched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.db import DatabaseError
from django.utils import timezone

from bots.models import FINAL_ORDER_STATUSES, Order, OrderStatus, RunType, SubscribedBot
from core.db import leave_checkpoints_to_others, wal_checkpoint_now
from core.dbthread import DatabaseThread
from core.errors import ApplicationError, Conflict, TemporaryError, ValidationError
from trading.gateways import errors as gw
from trading.gateways.base import Market
from trading.gateways.pool import LiveGatewayPool
from trading.gateways.ratelimit import BurstLimits
from trading.orders.placement import (
    OrderIntent,
    SubmitPolicy,
    intent_rounded,
    market_for,
    order_prepare_many,
    order_request_for,
    order_submit,
)
from trading.orders.state import order_apply_snapshot_async, order_fee_fill_in, order_lookup
from ttadak import ahead, gamemath, sendgate
from ttadak.models import CloseReason, Game, GameState
from ttadak.paper import PaperGateway
from ttadak.params import fee_rates
from ttadak.services import games as game_services
from ttadak.services.activation import session_info_load, ttadak_error_set
from ttadak.services.games import GamePlan, PreparedPress, PressScope, PressTarget, SessionStale

logger = logging.getLogger(__name__)

PRICE_POLL_SECONDS = 0.25  # live price refresh while a session or a watched game uses the symbol
PRICE_MAX_AGE_SECONDS = 5.0  # an older price is refreshed before a press (slow path)
WATCH_POLL_SECONDS = 0.2  # stop-loss / deadline checks of a game in play
EXIT_CHECK_SECONDS = 1.0  # how often the exit order's state is asked for
WATCH_LEASE = timedelta(seconds=30)  # `monitored_until` horizon, renewed while watching
KEEPALIVE_SECONDS = 10.0  # keep two connections of a hot session alive
HOT_SECONDS = 300.0  # a session is hot this long after its panel was used
SIGN_AHEAD_AGAIN_SECONDS = 1.0  # a press finds its legs signed ahead at most ~1.25 s before (limit: 2 s)
SETTLE_SECONDS = 3.0  # how long an acknowledged-but-unfilled market order is polled
# Game legs are sent once: a leg whose outcome is unknown is looked up, never re-sent later (the moment
# of the press is gone). Close orders may be re-sent (same client order id) within a few seconds.
LEG_POLICY = SubmitPolicy(max_attempts=1, deadline_seconds=10.0, backoff_seconds=(0.0,), fetch_fee=False)
CLOSE_POLICY = SubmitPolicy(max_attempts=3, deadline_seconds=10.0, backoff_seconds=(0.1, 0.5, 1.0), fetch_fee=False)
NOT_FINAL = (OrderStatus.SUBMITTING, OrderStatus.OPEN, OrderStatus.UNKNOWN)

Notifier = Callable[[int], Awaitable[None]]  # called with a game id when its panel should be redrawn


class PriceFeed:
    """The live last price of one symbol, refreshed while anyone uses it."""

    def __init__(self, fetch: Callable[[], Awaitable[Decimal]]):
        self._fetch = fetch
        self.last: Decimal | None = None
        self.at = 0.0
        self.users = 0
        self.listeners: list[Callable[[Decimal], None]] = []
        self._task: asyncio.Task | None = None

    @property
    def age(self) -> float:
        return time.monotonic() - self.at if self.last is not None else float("inf")

    async def refresh(self) -> Decimal:
        price = await self._fetch()
        self.last, self.at = price, time.monotonic()
        for listener in list(self.listeners):
            listener(price)
        return price

    async def current(self, max_age: float = PRICE_MAX_AGE_SECONDS) -> Decimal:
        if self.last is None or self.age > max_age:
            return await self.refresh()
        return self.last

    def acquire(self) -> None:
        self.users += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def release(self) -> None:
        self.users = max(0, self.users - 1)

    async def _run(self) -> None:
        while self.users > 0:
            try:
                await self.refresh()
            except gw.GatewayError as error:
                logger.info("price refresh failed: %s", error)
            except Exception:
                logger.exception("price refresh failed")
            await asyncio.sleep(PRICE_POLL_SECONDS)

    async def stop(self) -> None:
        self.users = 0
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


@dataclass
class GameSession:
    """A running Ttadak bot, warm: everything a press needs without waiting."""

    subscribed_bot_id: int
    user_id: int
    bot_name: str
    run_id: int
    run_type: str
    exchange_id: str
    settings: dict[str, Any]
    version: datetime
    market: Market
    gateway: Any  # LiveGateway (burst limiter) or PaperGateway
    feed: PriceFeed
    exchange_setting_id: int | None = None
    last_used: float = field(default_factory=time.monotonic)
    warmed_in_ms: float = 0.0
    keepalive: asyncio.Task | None = None
    # Presses of the panel on show, prepared and signed ahead: side -> (press, monotonic time signed).
    ahead: dict[str, tuple[PreparedPress, float]] = field(default_factory=dict)
    price_listener: Callable[[Decimal], None] | None = None

    @property
    def scope(self) -> PressScope:
        return PressScope(subscribed_bot_id=self.subscribed_bot_id, user_id=self.user_id, run_id=self.run_id,
                          run_type=self.run_type, exchange=self.exchange_id,
                          exchange_setting_id=self.exchange_setting_id, version=self.version)

    @property
    def hot(self) -> bool:
        return time.monotonic() - self.last_used < HOT_SECONDS


@dataclass(frozen=True)
class PressResult:
    game_id: int
    duplicate: bool
    state: str
    text: str  # a short line for the press's toast / ephemeral answer


def plan_game(*, side: str, settings: dict[str, Any], market: Market, price: Decimal) -> GamePlan:
    """Sizes and prices of both legs from the settings, the market's rules and the live price (pure).

    Raises ValidationError naming the setting when the market refuses it (leverage above its limit,
    amount below its minimum)."""
    leverage = int(settings["leverage"])
    if market.max_leverage and leverage > market.max_leverage:
        raise ValidationError(f"{market.symbol} allows at most {market.max_leverage}x; lower your leverage "
                              f"setting (now {leverage}x).", field="leverage")
    amount = gamemath.amount_to_step(Decimal(str(settings["order_amount"])), market.amount_step)
    if amount <= 0 or amount < market.min_amount:
        raise ValidationError(f"Order amount {settings['order_amount']} is below {market.symbol}'s minimum of "
                              f"{market.min_amount.normalize()} {market.base}.", field="order_amount")
    if market.min_notional and amount * price < market.min_notional:
        raise ValidationError(f"An order of {amount.normalize()} {market.base} is worth "
                              f"{(amount * price).quantize(Decimal('0.01'))} {market.quote}, below the market's "
                              f"minimum of {market.min_notional.normalize()} {market.quote}.", field="order_amount")
    exit_price = gamemath.exit_price(side=side, reference=price, target_yield_pct=Decimal(str(
        settings["target_yield_pct"])), leverage=leverage, tick=market.price_step)
    entry_side, exit_side = ("buy", "sell") if side == "long" else ("sell", "buy")
    entry = intent_rounded(OrderIntent(symbol=market.symbol, side=entry_side, amount=amount, purpose="entry"), market)
    # The exit is a plain limit order, not reduce-only: it may reach the exchange a moment before the
    # entry has filled, and a reduce-only order with no position yet would be refused.
    exit_ = intent_rounded(OrderIntent(symbol=market.symbol, side=exit_side, amount=amount, type="limit",
                                       price=exit_price, purpose="exit"), market)
    return GamePlan(side=side, symbol=market.symbol, amount=entry.amount, leverage=leverage, reference_price=price,
                    exit_price=exit_.price or exit_price,
                    max_duration=timedelta(seconds=int(settings["max_duration_s"])), settings=dict(settings),
                    entry=entry, exit=exit_)


def _leg_name(order: Order) -> str:
    return {"entry": "entry", "exit": "exit"}.get(order.purpose, order.purpose or "order")


class GameEngine:
    """Warm sessions, presses, and the watch of games in play, on one event loop."""

    def __init__(self, *, pool: LiveGatewayPool | None = None, watch: bool = True):
        # Binance USDⓈ-M publishes 2400 request weight per minute per IP (exchangeInfo.rateLimits).
        self.pool = pool or LiveGatewayPool(burst_limits=BurstLimits(weight_per_minute=2400))
        self.watch = watch  # False: one-shot use (the Celery sweep) — no background watchers
        self.sessions: dict[int, GameSession] = {}
        self.feeds: dict[tuple[str, str], PriceFeed] = {}
        self.papers: dict[int, PaperGateway] = {}  # run id -> paper account (dry-run)
        self.watchers: dict[int, asyncio.Task] = {}
        self.notifiers: dict[str, Notifier] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task] = set()
        self._markets: dict[str, dict[str, Market]] = {}
        self._games_ended = 0
        # The press's commit has a thread (and connection) of its own: it never queues behind other ORM
        # work of this process on asgiref's shared thread, and with SQLite it never runs a checkpoint.
        self.press_db = DatabaseThread("ttadak-press-db", on_connect=leave_checkpoints_to_others)

    # ------------------------------------------------------------------ lifecycle
    def spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        for task in [*self.watchers.values(), *self._tasks, *(s.keepalive for s in self.sessions.values() if
                                                              s.keepalive)]:
            task.cancel()
        for task in [*self.watchers.values(), *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for feed in self.feeds.values():
            await feed.stop()
        self.sessions.clear()
        self.watchers.clear()
        await self.pool.close()
        await self.press_db.close()

    # ------------------------------------------------------------------ prices and gateways
    async def _markets_of(self, exchange_id: str) -> dict[str, Market]:
        markets = self._markets.get(exchange_id)
        if markets is None:
            public = await self.pool.public(exchange_id)
            markets = self._markets[exchange_id] = await public.load_markets()
        return markets

    def feed(self, exchange_id: str, symbol: str) -> PriceFeed:
        key = (exchange_id, symbol)
        feed = self.feeds.get(key)
        if feed is None:
            async def fetch() -> Decimal:
                public = await self.pool.public(exchange_id)
                return (await public.fetch_ticker(symbol)).last

            feed = self.feeds[key] = PriceFeed(fetch)
        return feed

    async def _gateway_for(self, *, run_id: int, run_type: str, exchange_id: str, subscribed_bot: Any,
                           settings: dict[str, Any]) -> Any:
        if run_type == RunType.LIVE:
            return await self.pool.gateway(subscribed_bot.exchange_setting, rate_limiter="burst")
        paper = self.papers.get(run_id)
        if paper is None:
            maker, taker = fee_rates(settings)
            feed = self.feed(exchange_id, settings["symbol"])

            async def price(symbol: str) -> Decimal:
                return await (self.feed(exchange_id, symbol) if symbol != settings["symbol"] else feed).current(1.0)

            paper = PaperGateway(exchange_id=exchange_id, public=await self.pool.public(exchange_id), price=price,
                                 maker=maker, taker=taker)
            rows = await sync_to_async(lambda: list(Order.objects.filter(run_id=run_id).order_by("pk")))()
            paper.restore(rows)
            feed.listeners.append(lambda last, p=paper, s=settings["symbol"]: p.match(s, last))
            self.papers[run_id] = paper
        return paper

    # ------------------------------------------------------------------ warm sessions
    async def warm(self, subscribed_bot_id: int, *, force: bool = False) -> GameSession:
        """Make (or refresh) the warm session of a running Ttadak bot. Raises Conflict when it is not
        running, ApplicationError when the exchange refuses its settings (the bot goes to `error`)."""
        lock = self._locks.setdefault(subscribed_bot_id, asyncio.Lock())
        async with lock:
            session = self.sessions.get(subscribed_bot_id)
            if session is not None and not force:
                return session
            started = time.perf_counter()
            info = await sync_to_async(session_info_load)(subscribed_bot_id=subscribed_bot_id)
            if info is None:
                self._drop(subscribed_bot_id)
                raise Conflict("Ttadak is not started. Press START on the panel first.")
            try:
                session = await self._build_session(info)
            except gw.TemporaryGatewayError as error:
                raise TemporaryError(error.user_message) from None
            except (gw.GatewayError, ValidationError) as error:
                reason = error.user_message if isinstance(error, gw.GatewayError) else error.message
                await sync_to_async(ttadak_error_set)(subscribed_bot_id=subscribed_bot_id, reason=reason)
                self._drop(subscribed_bot_id)
                raise ApplicationError(f"Ttadak cannot play: {reason}") from None
            session.warmed_in_ms = (time.perf_counter() - started) * 1000
            self._drop(subscribed_bot_id)
            self.sessions[subscribed_bot_id] = session
            if self.watch:
                session.keepalive = self.spawn(self._keepalive(session))
                if hasattr(session.gateway, "sign_ahead"):
                    session.price_listener = lambda _price, s=session: self._sign_ahead(s)
                    session.feed.listeners.append(session.price_listener)
                    self._sign_ahead(session)
            return session

    async def _build_session(self, info: dict[str, Any]) -> GameSession:
        subscribed_bot, settings = info["subscribed_bot"], info["settings"]
        exchange_id = info["exchange"]
        gateway = await self._gateway_for(run_id=info["run_id"], run_type=info["run_type"], exchange_id=exchange_id,
                                          subscribed_bot=subscribed_bot, settings=settings)
        markets = await (gateway.load_markets() if info["run_type"] == RunType.LIVE else self._markets_of(exchange_id))
        market = market_for(markets, settings["symbol"])
        feed = self.feed(exchange_id, market.symbol)
        feed.acquire()
        try:
            price = await feed.current()
            plan_game(side="long", settings=settings, market=market, price=price)  # validates
            await gateway.set_leverage(market.symbol, int(settings["leverage"]))
            if info["run_type"] == RunType.LIVE:
                sendgate.install(gateway.client)
                await self._prime(gateway, market.symbol)
        except BaseException:
            feed.release()
            raise
        return GameSession(
            subscribed_bot_id=subscribed_bot.pk, user_id=subscribed_bot.user_id, bot_name=subscribed_bot.bot.name,
            run_id=info["run_id"], run_type=info["run_type"], exchange_id=exchange_id, settings=settings,
            version=info["version"], market=market, gateway=gateway, feed=feed,
            exchange_setting_id=subscribed_bot.exchange_setting_id,
        )

    @staticmethod
    async def _prime(gateway: Any, symbol: str) -> None:
        """Two warm wire connections, one per leg (and two in aiohttp's pool, its fallback)."""
        await asyncio.gather(gateway.fetch_ticker(symbol), gateway.fetch_ticker(symbol))
        await sendgate.prime(gateway.client, LEGS)

    async def _keepalive(self, session: GameSession) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            if not session.hot:
                continue
            with contextlib.suppress(DatabaseError):
                await self.press_db.ping()
            if session.run_type == RunType.LIVE:
                with contextlib.suppress(gw.GatewayError):
                    await self._prime(session.gateway, session.market.symbol)

    def _drop(self, subscribed_bot_id: int) -> None:
        session = self.sessions.pop(subscribed_bot_id, None)
        if session is not None:
            session.feed.release()
            if session.price_listener in session.feed.listeners:
                session.feed.listeners.remove(session.price_listener)
            if session.keepalive is not None:
                session.keepalive.cancel()

    def _sign_ahead(self, session: GameSession) -> None:
        """Sign both legs of both buttons of the bot's panel on show at the live price (ttadak.ahead), again
        when the price moves or the signatures near their age limit. A press of such a button at that
        price then only sends (LiveGateway.create_order); anything else signs at the press as before.

        One button per turn of the loop (~0.5 ms): a press arriving meanwhile waits for one, not both."""
        panel = ahead.shown_panel(session.subscribed_bot_id)
        price = session.feed.last
        if (panel is None or panel.user_id != session.user_id or price is None or not session.hot
                or self.sessions.get(session.subscribed_bot_id) is not session):
            return
        now = time.monotonic()
        due = [(side, key) for side, key in panel.keys.items()
               if (done := session.ahead.get(side)) is None or not _press_of(done[0], key, price)
               or now - done[1] >= SIGN_AHEAD_AGAIN_SECONDS]
        for side, key in due[:1]:
            try:
                done = session.ahead.get(side)
                if done is not None and _press_of(done[0], key, price):
                    press = done[0]  # only the signatures aged: the rows do not, sign the same legs again
                else:
                    plan = plan_game(side=side, settings=session.settings, market=session.market, price=price)
                    press = game_services.game_press_prepare(scope=session.scope, plan=plan, idempotency_key=key)
                for leg in press.legs:
                    session.gateway.sign_ahead(order_request_for(leg))
            except ApplicationError:
                return  # settings the market refuses: the press says why
            except Exception as error:  # a price listener must not fail the refresh; the press signs itself
                logger.warning("signing ahead for bot %s failed: %s", session.subscribed_bot_id,
                               type(error).__name__)
                return
            session.ahead[side] = (press, now)
        if len(due) > 1:
            asyncio.get_running_loop().call_soon(self._sign_ahead, session)

    def forget(self, subscribed_bot_id: int) -> None:
        """The bot stopped: drop its warm session (games in play keep their watchers)."""
        self._drop(subscribed_bot_id)

    def touch(self, subscribed_bot_id: int) -> None:
        session = self.sessions.get(subscribed_bot_id)
        if session is not None:
            session.last_used = time.monotonic()

    # ------------------------------------------------------------------ the press
    async def press(self, *, user_id: int, subscribed_bot_id: int, side: str, idempotency_key: str,
                    target: PressTarget, received_ns: int | None = None) -> PressResult:
        """BUY GAME (side "long") / SELL GAME ("short"): persist both intents, send both legs together.

        Returns once both legs have an answer from the exchange (bookkeeping continues in the
        background). A repeated key returns the first press's game. Raises ApplicationError subclasses
        with a user-facing message (not started, a game in play, settings the market refuses, …).
        `received_ns` (perf_counter_ns when the surface's handler got the press) goes into the game's
        timings with the engine's own stamps: where the time between a press and the exchange goes."""
        pressed_at = timezone.now()
        t_press = time.perf_counter_ns()
        if side not in ("long", "short"):
            raise ValidationError("side must be long or short", field="side")
        session = self.sessions.get(subscribed_bot_id) or await self.warm(subscribed_bot_id)
        if session.user_id != user_id:
            raise Conflict("That is not one of your bots.")
        session.last_used = time.monotonic()
        for attempt in range(2):
            price = session.feed.last if session.feed.age <= PRICE_MAX_AGE_SECONDS else await session.feed.refresh()
            prepared = _prepared_ahead(session, side, idempotency_key, price)
            if prepared is None:
                plan = plan_game(side=side, settings=session.settings, market=session.market, price=price)
                prepared = game_services.game_press_prepare(scope=session.scope, plan=plan,
                                                            idempotency_key=idempotency_key)
            legs = prepared.legs
            # Both legs are built and signed first and wait at the gate (on their own warm connections); then
            # the intents commit; then both requests are written together.
            gate = sendgate.SendGate()
            gateway = sendgate.GatedGateway(session.gateway, gate)
            sends = sendgate.start_legs(
                legs, lambda leg, gw=gateway: order_submit(leg, gw, fresh=True, policy=LEG_POLICY), gate)
            try:
                await gate.parked(sends)
                t_parked = time.perf_counter_ns()
                game, created = await self.press_db.call(game_services.game_press_persist, prepared, target=target,
                                                         pressed_at=pressed_at)
            except BaseException as error:
                await _call_off(gate, sends)
                if not isinstance(error, SessionStale):
                    raise
                if attempt:
                    raise Conflict("Your Ttadak settings are changing; press again in a moment.") from None
                session = await self.warm(subscribed_bot_id, force=True)
                continue
            if not created:
                await _call_off(gate, sends)
                return PressResult(game.pk, True, game.state, f"That press already started "
                                                               f"{game.get_side_display()} #{game.pk}.")
            break
        t_persisted = time.perf_counter_ns()
        gate.open()
        outcomes = await asyncio.gather(*sends, return_exceptions=True)
        t_answered = time.perf_counter_ns()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):  # the rows say what is known; settling asks the exchange
                logger.error("a leg of game %s failed unexpectedly: %r", game.pk, outcome)
        entry, exit_ = game.entry_order, game.exit_order
        # perf_counter_ns stamps (CLOCK_MONOTONIC: comparable with the exchange emulator's arrival stamps).
        timings = {"received_ns": received_ns or t_press, "engine_ns": t_press, "parked_ns": t_parked,
                   "persisted_ns": t_persisted,
                   "written_ns": gate.written_ns, "answered_ns": t_answered}
        self.spawn(self._after_send(game.pk, session, timings))
        return PressResult(game.pk, False, game.state, _sent_line(game, entry, exit_))

    # ------------------------------------------------------------------ after the orders are out
    async def _after_send(self, game_id: int, session: GameSession | None, timings: dict[str, int] | None = None
                          ) -> None:
        try:
            if timings is not None:
                await sync_to_async(game_services.game_timings_save)(game_id=game_id, timings=timings,
                                                                     sent_at=timezone.now())
            await self.settle_sent(game_id, session=session)
        except Exception:
            logger.exception("bookkeeping of game %s failed; the sweep will take it over", game_id)
        finally:
            await self.notify(game_id)

    async def settle_sent(self, game_id: int, *, session: GameSession | None = None) -> None:
        """Decide a just-sent game: both legs placed and the entry filled → in play (watched); a leg
        failed → wind the other one down at once and tell the user why."""
        game = await sync_to_async(game_services.game_load)(game_id)
        if game.state != GameState.SENDING:
            return
        context = session or await self.context_for(game)
        entry, exit_ = game.entry_order, game.exit_order
        for leg in (entry, exit_):
            if leg.status in (OrderStatus.SUBMITTING, OrderStatus.UNKNOWN):
                await self._resolve(context.gateway, leg)
        if entry.status == OrderStatus.OPEN and not entry.filled:
            await self._settle_market(context.gateway, entry)
        exit_ok = exit_.status in (OrderStatus.OPEN, OrderStatus.CLOSED)
        if entry.filled > 0 and exit_ok:
            stop = gamemath.stop_loss_price(side=game.side, entry=entry.average, stop_loss_pct=Decimal(str(
                game.settings["stop_loss_pct"])), leverage=game.leverage, tick=context.market.price_step)
            opened = await sync_to_async(game_services.game_open_mark)(
                game_id=game.pk, stop_loss_price=stop, watched_until=timezone.now() + WATCH_LEASE)
            if opened is None:
                return
            if exit_.status == OrderStatus.CLOSED and exit_.filled >= entry.filled:
                await self.wind_down(game.pk, CloseReason.TARGET, "", context=context)
            elif self.watch:
                self.start_watch(game.pk, context)
            return
        if not await sync_to_async(game_services.game_state_claim)(
                game_id=game.pk, from_states=(GameState.SENDING,), to=GameState.CLOSING):
            return
        await self.wind_down(game.pk, CloseReason.LEG_FAILED, _failure_message(entry, exit_), context=context)

    async def _resolve(self, gateway: Any, order: Order) -> None:
        """Ask the exchange about a leg whose outcome we do not know (by client order id)."""
        lookup = await order_lookup(gateway, order)
        if lookup.found:
            await order_apply_snapshot_async(order, lookup.snapshot)
        elif lookup.not_found and not order.exchange_order_id:
            order.status, order.last_error = OrderStatus.REJECTED, "Never reached the exchange; nothing was traded."
            await sync_to_async(order.save)(update_fields=["status", "last_error", "updated_at"])

    @staticmethod
    async def _settle_market(gateway: Any, order: Order) -> None:
        """Exchanges may acknowledge a market order before it fills (status NEW): ask until it has."""
        deadline = time.monotonic() + SETTLE_SECONDS
        delay = 0.02
        while order.status == OrderStatus.OPEN and not order.filled and time.monotonic() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
            with contextlib.suppress(gw.GatewayError):
                snapshot = await gateway.fetch_order(order.symbol, client_order_id=order.client_order_id)
                await order_apply_snapshot_async(order, snapshot)

    # ------------------------------------------------------------------ watching a game in play
    def start_watch(self, game_id: int, context: Any) -> None:
        task = self.watchers.get(game_id)
        if task is None or task.done():
            self.watchers[game_id] = self.spawn(self._watch(game_id, context))

    async def _watch(self, game_id: int, context: Any) -> None:
        feed = self.feed(context.exchange_id, context.market.symbol)
        feed.acquire()
        try:
            await self._watch_loop(game_id, context, feed)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("watching game %s failed; the sweep will take it over", game_id)
        finally:
            feed.release()
            self.watchers.pop(game_id, None)

    async def _watch_loop(self, game_id: int, context: Any, feed: PriceFeed) -> None:
        game = await sync_to_async(game_services.game_load)(game_id)
        deadline = game.deadline_at
        lease_renew_at = time.monotonic() + WATCH_LEASE.total_seconds() / 2
        next_exit_check = 0.0
        while game.state == GameState.OPEN:
            now = timezone.now()
            if now >= deadline:
                await self._end_and_notify(game_id, CloseReason.TIMEOUT, context)
                return
            price = feed.last
            if price is not None and gamemath.stop_hit(side=game.side, price=price, stop=game.stop_loss_price):
                await self._end_and_notify(game_id, CloseReason.STOP_LOSS, context)
                return
            crossed = price is not None and gamemath.target_hit(side=game.side, price=price,
                                                                target=game.exit_limit_price)
            if crossed or time.monotonic() >= next_exit_check:
                next_exit_check = time.monotonic() + EXIT_CHECK_SECONDS
                state = await sync_to_async(game_services.game_state_get)(game_id=game_id)
                if state != GameState.OPEN:
                    return  # ended elsewhere (the sweep, a close from the panel)
                if await self._exit_filled(game, context):
                    await self._end_and_notify(game_id, CloseReason.TARGET, context)
                    return
            if time.monotonic() >= lease_renew_at:
                lease_renew_at = time.monotonic() + WATCH_LEASE.total_seconds() / 2
                await sync_to_async(game_services.game_watch_bump)(game_id=game_id, until=now + WATCH_LEASE)
                game = await sync_to_async(game_services.game_load)(game_id)
            remaining = (deadline - now).total_seconds()
            await asyncio.sleep(max(0.0, min(WATCH_POLL_SECONDS, remaining)))

    async def _end_and_notify(self, game_id: int, reason: str, context: Any) -> None:
        if await self.end(game_id, reason, context=context):
            await self.notify(game_id)

    async def close_now(self, game_id: int, *, reason: str = CloseReason.MANUAL) -> bool:
        """End a game in play at once (the panel's CLOSE NOW): cancel the exit, close at market."""
        ended = await self.end(game_id, reason)
        if ended:
            await self.notify(game_id)
        return ended

    async def _exit_filled(self, game: Game, context: Any) -> bool:
        exit_ = game.exit_order
        try:
            snapshot = await context.gateway.fetch_order(exit_.symbol, client_order_id=exit_.client_order_id)
        except gw.GatewayError as error:
            logger.info("exit of game %s not read: %s", game.pk, error)
            return False
        await order_apply_snapshot_async(exit_, snapshot)
        return exit_.status == OrderStatus.CLOSED and exit_.filled >= game.entry_order.filled

    async def end(self, game_id: int, reason: str, *, context: Any = None, message: str = "") -> bool:
        """End a game in play (target, stop loss, time limit): claim it, then wind it down. Only one
        process wins the claim; False for the others."""
        if not await sync_to_async(game_services.game_state_claim)(
                game_id=game_id, from_states=(GameState.OPEN,), to=GameState.CLOSING, close_reason=reason):
            return False
        watcher = self.watchers.get(game_id)
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
        await self.wind_down(game_id, reason, message, context=context)
        # Between games is the quiet moment for the embedded database's log upkeep: every few games, so
        # its auto-checkpoint (~15 ms) never lands on a press, nor a log restart (~0.6 ms) on every one.
        self._games_ended += 1
        if self._games_ended % CHECKPOINT_EVERY_GAMES == 0:
            self.spawn(sync_to_async(wal_checkpoint_now)())
        return True

    # ------------------------------------------------------------------ winding down
    async def wind_down(self, game_id: int, reason: str, message: str, *, context: Any = None) -> Game | None:
        """Cancel what is still open, close what the fills left at market, record the result.

        Used for every ending: target (nothing left to do), stop loss and time limit (cancel the exit,
        close the position), a failed leg (cancel / close the other one at once), and the sweep's
        retries. Whatever cannot be confirmed puts the game in `attention` with the reason."""
        game = await sync_to_async(game_services.game_load)(game_id)
        if game.state in (GameState.FINISHED, GameState.FAILED):
            return game
        context = context or await self.context_for(game)
        legs = await sync_to_async(game_services.game_legs)(game)
        for leg in legs:
            if leg.status in NOT_FINAL:
                await self._kill(context.gateway, leg)
        legs = await sync_to_async(game_services.game_legs)(game)
        net = sum((leg.filled if leg.side == "buy" else -leg.filled for leg in legs), Decimal(0))
        close_problem = ""
        if net:
            close_problem = await self._close_position(game, net, context)
        game = await sync_to_async(game_services.game_load)(game_id)
        legs = await sync_to_async(game_services.game_legs)(game)
        unresolved = [leg for leg in legs if leg.status in NOT_FINAL]
        left = sum((leg.filled if leg.side == "buy" else -leg.filled for leg in legs), Decimal(0))
        if left or unresolved:
            what = (f"the position of {abs(left).normalize()} {context.market.base} could not be closed"
                    f"{': ' + close_problem if close_problem else ''}" if left else
                    f"the {_leg_name(unresolved[0])} order's state could not be confirmed with the exchange")
            text = (f"{message} " if message else "") + f"Attention: {what}. The platform keeps trying; check the " \
                                                         "position on the exchange."
            return await sync_to_async(game_services.game_attention_set)(game_id=game_id, message=text.strip())
        await self._fees_fill(context, game, legs)
        return await sync_to_async(game_services.game_conclude)(game_id=game_id, reason=reason, message=message)

    async def _fees_fill(self, context: Any, game: Game, legs: list[Order]) -> None:
        """The exchange's commission of every filled leg (futures order answers carry none): one trades
        query for the game (weight 5 at Binance) rather than one per leg."""
        missing = [leg for leg in legs if leg.status == OrderStatus.CLOSED and not leg.fee and leg.exchange_order_id]
        gateway = context.gateway
        if not missing or not hasattr(gateway, "client"):
            return
        if len(missing) == 1:
            await order_fee_fill_in(gateway, missing[0])
            return
        since_ms = int(game.pressed_at.timestamp() * 1000) - 60_000
        try:
            trades = await gateway._call("fetch_my_trades", game.symbol, since_ms)
        except gw.GatewayError as error:
            logger.info("fees of game %s not read: %s", game.pk, error)
            return
        by_order: dict[str, tuple[Decimal, str]] = {}
        for trade in trades:
            fee = trade.get("fee") or {}
            order_id = str(trade.get("order") or "")
            cost, currency = by_order.get(order_id, (Decimal(0), ""))
            by_order[order_id] = (cost + Decimal(str(fee.get("cost") or 0)), fee.get("currency") or currency)
        for leg in missing:
            if leg.exchange_order_id in by_order:
                leg.fee, leg.fee_currency = by_order[leg.exchange_order_id]
                await sync_to_async(leg.save)(update_fields=["fee", "fee_currency", "updated_at"])

    async def _kill(self, gateway: Any, order: Order) -> None:
        """Make sure a leg can no longer fill: cancel it, and learn its final state either way."""
        try:
            snapshot = await gateway.cancel_order(order.symbol, client_order_id=order.client_order_id)
            await order_apply_snapshot_async(order, snapshot)
            if order.status not in NOT_FINAL:
                return
        except gw.GatewayError as error:
            logger.info("cancel of %s: %s", order.client_order_id, error)
        await self._resolve(gateway, order)

    async def _close_position(self, game: Game, net: Decimal, context: Any) -> str:
        """Close `net` base units (+ long) at market, reduce-only. Returns a problem text, or ""."""
        attempt = await sync_to_async(game_services.game_close_attempt_next)(game_id=game.pk)
        intent = intent_rounded(OrderIntent(symbol=game.symbol, side="sell" if net > 0 else "buy", amount=abs(net),
                                            reduce_only=True, purpose="close"), context.market)
        key = game_services.leg_key(game.idempotency_key, f"close{attempt}")
        [(order, created)] = await sync_to_async(order_prepare_many)(run_id=game.run_id, intents=[(intent, key)],
                                                                     exchange=game.exchange)
        await sync_to_async(game_services.game_close_order_attach)(game_id=game.pk, order_id=order.pk)
        order = await order_submit(order, context.gateway, fresh=created, policy=CLOSE_POLICY)
        if order.status == OrderStatus.OPEN and not order.filled:
            await self._settle_market(context.gateway, order)
        if order.status == OrderStatus.CLOSED:
            return ""
        return order.last_error or f"the close order is {order.get_status_display().lower()}"

    # ------------------------------------------------------------------ games outside a warm session
    async def context_for(self, game: Game) -> GameSession:
        """A session-like context for a game (the sweep, a restarted process): its run's gateway."""
        session = self.sessions.get(game.subscribed_bot_id)
        if session is not None and session.run_id == game.run_id:
            return session
        subscribed_bot = await sync_to_async(
            lambda: SubscribedBot.objects.select_related("exchange_setting", "bot").get(pk=game.subscribed_bot_id))()
        gateway = await self._gateway_for(run_id=game.run_id, run_type=game.run_type, exchange_id=game.exchange,
                                          subscribed_bot=subscribed_bot, settings=game.settings)
        markets = await (gateway.load_markets() if game.run_type == RunType.LIVE else self._markets_of(game.exchange))
        market = market_for(markets, game.symbol)
        return GameSession(
            subscribed_bot_id=game.subscribed_bot_id, user_id=subscribed_bot.user_id, bot_name=subscribed_bot.bot.name,
            run_id=game.run_id, run_type=game.run_type, exchange_id=game.exchange, settings=game.settings,
            version=subscribed_bot.updated_at, market=market, gateway=gateway,
            feed=self.feed(game.exchange, game.symbol), exchange_setting_id=subscribed_bot.exchange_setting_id,
        )

    async def check_once(self, game_id: int) -> str:
        """One look at a game nobody watches (the sweep): settle it, end it when its time is up or its
        stop was reached, or finish it when the exit filled. Returns what was done."""
        game = await sync_to_async(game_services.game_load)(game_id)
        if game.state == GameState.SENDING:
            await self.settle_sent(game_id)
            return "settled"
        if game.state in (GameState.CLOSING, GameState.ATTENTION):
            await self.wind_down(game_id, game.close_reason or CloseReason.UNKNOWN, game.message)
            return "wound down"
        if game.state != GameState.OPEN:
            return "nothing"
        context = await self.context_for(game)
        if timezone.now() >= game.deadline_at:
            await self.end(game_id, CloseReason.TIMEOUT, context=context)
            return "timeout"
        price = await context.feed.refresh()
        if gamemath.stop_hit(side=game.side, price=price, stop=game.stop_loss_price):
            await self.end(game_id, CloseReason.STOP_LOSS, context=context)
            return "stop loss"
        if await self._exit_filled(game, context):
            await self.end(game_id, CloseReason.TARGET, context=context)
            return "target"
        return "in play"

    def resume_watch(self, game_ids: list[int]) -> None:
        """After a restart: watch the games in play again (this process's surface)."""
        for game_id in game_ids:
            self.spawn(self._resume(game_id))

    async def _resume(self, game_id: int) -> None:
        try:
            game = await sync_to_async(game_services.game_load)(game_id)
            context = await self.context_for(game)
            if game.state == GameState.OPEN:
                self.start_watch(game_id, context)
            else:
                await self.check_once(game_id)
        except Exception:
            logger.exception("resuming game %s failed; the sweep will take it over", game_id)

    # ------------------------------------------------------------------ panels
    async def notify(self, game_id: int) -> None:
        surface = await sync_to_async(lambda: Game.objects.filter(pk=game_id).values_list("surface", flat=True)
                                      .first())()
        notifier = self.notifiers.get(surface or "")
        if notifier is None:
            return
        try:
            await notifier(game_id)
        except Exception:
            logger.exception("redrawing the panel of game %s failed", game_id)


LEGS = 2  # entry and exit
CHECKPOINT_EVERY_GAMES = 16  # a game writes ~25 pages to SQLite's log; it checkpoints itself at 1,000


def _prepared_ahead(session: GameSession, side: str, idempotency_key: str, price: Decimal) -> PreparedPress | None:
    """The press's rows prepared ahead for this button at this price (taken: a press uses them once)."""
    ahead = session.ahead.pop(side, None)
    return ahead[0] if ahead is not None and _press_of(ahead[0], idempotency_key, price) else None


def _press_of(prepared: PreparedPress, idempotency_key: str, price: Decimal) -> bool:
    """Whether rows prepared ahead are those of a press with this key at this price."""
    return prepared.idempotency_key == idempotency_key and prepared.plan.reference_price == price


async def _call_off(gate: sendgate.SendGate, sends: list[asyncio.Task]) -> None:
    """The intents were not committed: the parked legs never leave."""
    gate.shut()
    for task in sends:
        task.cancel()
    await asyncio.gather(*sends, return_exceptions=True)


def _sent_line(game: Game, entry: Order, exit_: Order) -> str:
    if entry.status in FINAL_ORDER_STATUSES and entry.status != OrderStatus.CLOSED or exit_.status == (
            OrderStatus.REJECTED):
        return f"{game.get_side_display()} #{game.pk}: a leg was refused — winding down."
    return f"{game.get_side_display()} #{game.pk} sent: both orders are at the exchange."


def _failure_message(entry: Order, exit_: Order) -> str:
    entry_failed = not entry.filled
    exit_failed = exit_.status not in (OrderStatus.OPEN, OrderStatus.CLOSED)
    entry_reason = entry.last_error or f"it is {entry.get_status_display().lower()}"
    exit_reason = exit_.last_error or f"it is {exit_.get_status_display().lower()}"
    if entry_failed and exit_failed:
        return f"Both orders failed. Entry: {entry_reason} Exit: {exit_reason}"
    if entry_failed:
        return f"The entry order failed: {entry_reason} The exit order was cancelled at once."
    return (f"The exit order failed: {exit_reason} The entry had filled, so the position was closed at market "
            "at once.")


# ------------------------------------------------------------------ one engine per event loop
_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GameEngine] = weakref.WeakKeyDictionary()


def game_engine() -> GameEngine:
    """The engine of the running loop (created on first use). Close it with `close_game_engine()`."""
    loop = asyncio.get_running_loop()
    engine = _engines.get(loop)
    if engine is None:
        engine = _engines[loop] = GameEngine()
    return engine


async def close_game_engine() -> None:
    engine = _engines.pop(asyncio.get_running_loop(), None)
    if engine is not None:
        await engine.close()
