"""Order placement with money safety: persist before send, ask before retry, never place twice.

1. `order_prepare` writes the order (status "submitting") with a client order id derived from the
   caller's idempotency key, BEFORE anything leaves the process. Preparing the same key again returns
   the same row — the database's unique client_order_id is the idempotency guarantee.
2. `order_submit` sends it. On a timeout, dropped connection or 5xx (`OrderResultUnknown`) it asks
   the exchange by client order id before any retry; a retry reuses the same client order id, so the
   exchange itself refuses a second copy (-4116). Rejections are final; rate limits wait and retry.
3. What still cannot be determined becomes status "unknown", flagged for attention (the user is
   alerted through `trading.orders.attention`); reconciliation keeps asking until it is resolved.

All amounts are rounded to the market's steps before the row is written, so the row holds exactly
what was sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Literal

from asgiref.sync import sync_to_async
from django.db import IntegrityError, transaction

from bots.models import BotRun, Order, OrderStatus, OrderType, RunType
from core.errors import Conflict, ValidationError
from trading.gateways import errors as gw
from trading.gateways.base import ExchangeGateway, Market, OrderRequest
from trading.orders.attention import order_attention_flag
from trading.orders.state import order_apply_snapshot_async, order_fee_fill_in, order_lookup

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderIntent:
    """What a bot wants; amounts in base units, prices in quote currency."""

    symbol: str
    side: Literal["buy", "sell"]
    amount: Decimal
    type: Literal["market", "limit"] = "market"
    price: Decimal | None = None
    reduce_only: bool = False
    purpose: str = ""  # entry, exit, stop_loss, …
    trade_id: int | None = None


@dataclass(frozen=True)
class SubmitPolicy:
    max_attempts: int = 3  # sends of the same client order id
    deadline_seconds: float = 30.0  # keep below reconciliation's grace period
    backoff_seconds: tuple[float, ...] = (0.2, 1.0, 3.0)
    fetch_fee: bool = True


DEFAULT_POLICY = SubmitPolicy()


def client_order_id_for(*, subscribed_bot_id: int, idempotency_key: str) -> str:
    """Deterministic client order id: 'ldp' + 32 hex chars (Binance allows 36 of [.A-Z:/a-z0-9_-])."""
    digest = hashlib.sha256(f"{subscribed_bot_id}:{idempotency_key}".encode()).hexdigest()
    return f"ldp{digest[:32]}"


def market_for(markets: dict[str, Market], symbol: str) -> Market:
    if symbol in markets:
        return markets[symbol]
    for market in markets.values():
        if symbol in (market.exchange_symbol, f"{market.base}/{market.quote}"):
            return market
    raise ValidationError(f"The exchange does not list {symbol}.", field="symbol")


def intent_rounded(intent: OrderIntent, market: Market) -> OrderIntent:
    """Amount down to the lot step; a limit price to the tick, never worse for the bot."""
    if intent.side not in ("buy", "sell"):
        raise ValidationError("side must be buy or sell", field="side")
    if intent.type not in ("market", "limit"):
        raise ValidationError("type must be market or limit", field="type")
    amount = (intent.amount / market.amount_step).to_integral_value(ROUND_DOWN) * market.amount_step
    if amount <= 0 or amount < market.min_amount:
        raise ValidationError(
            f"Order amount {intent.amount} is below the market's minimum of {market.min_amount.normalize()} "
            f"{market.base}.", field="amount")
    price = intent.price
    if intent.type == "limit":
        if price is None or price <= 0:
            raise ValidationError("A limit order needs a positive price.", field="price")
        rounding = ROUND_FLOOR if intent.side == "buy" else ROUND_CEILING
        price = (price / market.price_step).to_integral_value(rounding) * market.price_step
        if not intent.reduce_only and amount * price < market.min_notional:
            raise ValidationError(f"Order value is below the exchange's minimum of {market.min_notional} "
                                  f"{market.quote}.", field="amount")
    else:
        price = None
    return OrderIntent(symbol=intent.symbol, side=intent.side, amount=amount, type=intent.type, price=price,
                       reduce_only=intent.reduce_only, purpose=intent.purpose, trade_id=intent.trade_id)


def _same_order(order: Order, intent: OrderIntent) -> bool:
    return (order.symbol, order.side, order.type, order.amount, order.price, order.reduce_only) == (
        intent.symbol, intent.side, intent.type, intent.amount, intent.price, intent.reduce_only)


def _prepare_one(run: BotRun, intent: OrderIntent, idempotency_key: str, exchange: str) -> tuple[Order, bool]:
    if not idempotency_key or len(idempotency_key) > 200:
        raise ValidationError("An idempotency key of 1–200 characters is required.", field="idempotency_key")
    subscribed_bot = run.subscribed_bot
    exchange_setting = subscribed_bot.exchange_setting if run.run_type == RunType.LIVE else None
    if run.run_type == RunType.LIVE and exchange_setting is None:
        raise Conflict("A live order needs an exchange key attached to the bot.", field="exchange_setting_id")
    if run.run_type == RunType.SIMULATION:
        raise Conflict("Simulations fill orders inside the simulator; nothing is placed.")
    cid = client_order_id_for(subscribed_bot_id=subscribed_bot.pk, idempotency_key=idempotency_key)
    existing = Order.objects.filter(client_order_id=cid).first()
    if existing is None:
        try:
            with transaction.atomic():
                return Order.objects.create(
                    trade_id=intent.trade_id, subscribed_bot=subscribed_bot, run=run, run_type=run.run_type,
                    exchange=exchange, exchange_setting=exchange_setting, client_order_id=cid,
                    idempotency_key=idempotency_key, status=OrderStatus.SUBMITTING, symbol=intent.symbol,
                    type=OrderType(intent.type), side=intent.side, reduce_only=intent.reduce_only,
                    price=intent.price, amount=intent.amount, remaining=intent.amount, purpose=intent.purpose[:32],
                ), True
        except IntegrityError:
            existing = Order.objects.get(client_order_id=cid)  # a concurrent call won the race
    if existing.subscribed_bot_id != subscribed_bot.pk or not _same_order(existing, intent):
        raise Conflict("This idempotency key was already used for a different order.", field="idempotency_key")
    return existing, False


@transaction.atomic
def order_prepare_many(*, run_id: int, intents: Sequence[tuple[OrderIntent, str]],
                       exchange: str) -> list[tuple[Order, bool]]:
    """Persist several orders (status "submitting") in one transaction; (order, created) per intent.

    `intents` holds (rounded intent, idempotency key) pairs. Existing keys return their rows unchanged.
    """
    run = BotRun.objects.select_related("subscribed_bot__exchange_setting").get(pk=run_id)
    return [_prepare_one(run, intent, key, exchange) for intent, key in intents]


def order_prepare(*, run_id: int, intent: OrderIntent, idempotency_key: str, exchange: str) -> tuple[Order, bool]:
    return order_prepare_many(run_id=run_id, intents=[(intent, idempotency_key)], exchange=exchange)[0]


def order_request_for(order: Order) -> OrderRequest:
    """What the gateway is asked to place for an order row (also what a request signed ahead must equal)."""
    return OrderRequest(client_order_id=order.client_order_id, symbol=order.symbol, side=order.side,
                        type=order.type, amount=order.amount, price=order.price, reduce_only=order.reduce_only)


@sync_to_async
def _mark(order: Order, status: str, message: str, *, attention: str = "") -> None:
    order.status = status
    order.last_error = message[:500]
    order.save(update_fields=["status", "last_error", "updated_at"])
    if attention:
        order_attention_flag(order=order, reason=attention)


async def _finish(order: Order, snapshot, gateway: ExchangeGateway, policy: SubmitPolicy) -> Order:  # noqa: ANN001
    await order_apply_snapshot_async(order, snapshot)
    if policy.fetch_fee and order.status == OrderStatus.CLOSED:
        await order_fee_fill_in(gateway, order)
    return order


async def order_submit(order: Order, gateway: ExchangeGateway, *, fresh: bool,
                       policy: SubmitPolicy = DEFAULT_POLICY) -> Order:
    """Send a prepared order. `fresh=False` (a row found from an earlier attempt) asks the exchange first.

    Returns the order with the exchange's view applied; never raises gateway errors — the outcome is on
    the row (open/closed/…, rejected with `last_error`, or unknown + flagged for attention).
    """
    if order.status != OrderStatus.SUBMITTING:
        return order
    signing_setting = getattr(gateway, "exchange_setting_id", None)
    if signing_setting is not None and signing_setting != order.exchange_setting_id:
        raise Conflict("This order belongs to another exchange key than the gateway's.")
    request = order_request_for(order)
    deadline = time.monotonic() + policy.deadline_seconds
    need_lookup, duplicate_seen, attempt = not fresh, False, 0
    last_error: gw.GatewayError | None = None
    while True:
        if need_lookup:
            lookup = await order_lookup(gateway, order)
            if lookup.found:
                return await _finish(order, lookup.snapshot, gateway, policy)
            if not lookup.not_found or duplicate_seen:
                reason = (lookup.error.user_message if lookup.error else
                          "the exchange reported the order as duplicated but cannot find it.")
                await _mark(order, OrderStatus.UNKNOWN, reason, attention=reason)
                return order
        if attempt >= policy.max_attempts or time.monotonic() > deadline:
            message = last_error.user_message if last_error else "The order could not be sent."
            await _mark(order, OrderStatus.REJECTED, f"Not placed (checked with the exchange): {message}")
            return order
        attempt += 1
        try:
            snapshot = await gateway.create_order(request)
        except gw.RateLimited as error:  # refused before execution: wait, send again
            last_error, need_lookup = error, False
            await asyncio.sleep(min(error.retry_after or 1.0, max(0.0, deadline - time.monotonic())))
            continue
        except gw.DuplicateClientOrderId as error:  # an earlier attempt landed
            last_error, need_lookup, duplicate_seen = error, True, True
            continue
        except gw.TemporaryGatewayError as error:  # unknown outcome, clock skew, …: ask before resending
            last_error = error
            need_lookup = not isinstance(error, gw.ExchangeClockSkew)
            await asyncio.sleep(policy.backoff_seconds[min(attempt - 1, len(policy.backoff_seconds) - 1)])
            continue
        except gw.GatewayError as error:  # permanent: insufficient funds, invalid order, auth …
            await _mark(order, OrderStatus.REJECTED, error.user_message)
            return order
        return await _finish(order, snapshot, gateway, policy)


async def _rounded(gateway: ExchangeGateway,
                   intents: Sequence[tuple[OrderIntent, str]]) -> list[tuple[OrderIntent, str]]:
    markets = await gateway.load_markets()
    return [(intent_rounded(intent, market_for(markets, intent.symbol)), key) for intent, key in intents]


async def order_place_many(*, run_id: int, intents: Sequence[tuple[OrderIntent, str]], gateway: ExchangeGateway,
                           policy: SubmitPolicy = DEFAULT_POLICY) -> list[Order]:
    """Persist all orders first (one transaction), then send them concurrently.

    The sends start in the same event-loop turn, so with a burst rate limiter two orders leave within
    a fraction of a millisecond (TTADAK). Idempotency keys already used return their existing rows
    (a "submitting" one is resumed: asked for first, sent only if the exchange does not have it).
    """
    rounded = await _rounded(gateway, intents)
    prepared = await sync_to_async(order_prepare_many)(run_id=run_id, intents=rounded, exchange=gateway.exchange_id)
    return list(await asyncio.gather(*(order_submit(order, gateway, fresh=created, policy=policy)
                                       for order, created in prepared)))


async def order_place(*, run_id: int, intent: OrderIntent, idempotency_key: str, gateway: ExchangeGateway,
                      policy: SubmitPolicy = DEFAULT_POLICY) -> Order:
    """Place one order safely (see module doc). The idempotency key is scoped to the run's subscribed bot;
    derive it from the bot's intent, e.g. f"{run_id}:{bar_time}:entry"."""
    [order] = await order_place_many(run_id=run_id, intents=[(intent, idempotency_key)], gateway=gateway,
                                     policy=policy)
    return order
