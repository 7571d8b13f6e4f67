"""The live gateway: ccxt's async API against a real exchange (or the emulator, via EXCHANGE_API_BASE).

Clients come from `trading.gateways.pool.LiveGatewayPool` (one per exchange account, reused). Every
ccxt error leaves as a `trading.gateways.errors` type; on `create_order` anything that might have reached
the exchange (timeouts, dropped connections, 5xx) becomes `OrderResultUnknown`, so callers ask by
client order id before any retry.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
from django.utils import timezone

from core.log_redaction import RedactSecretsFilter
from trading.gateways import errors as gw
from trading.gateways.base import Balance, KeyCheck, Market, OrderBook, OrderRequest, OrderSnapshot, Position, Ticker
from trading.gateways.ccxt_errors import AUTH_MESSAGES, map_ccxt_error
from trading.gateways.ratelimit import BurstRateLimiter

logger = logging.getLogger(__name__)
ZERO = Decimal(0)
_BALANCE_META = {"info", "free", "used", "total", "timestamp", "datetime", "debt"}
DEFAULT_TIMEOUT_MS = 10_000
# A request signed ahead is sent only this young: its timestamp is checked against the exchange's
# recvWindow (ccxt asks for 10 s on Binance) and the exchange's clock.
SIGNED_AHEAD_MAX_AGE_SECONDS = 2.0

# ccxt logs request headers (X-MBX-APIKEY) and signed bodies at DEBUG: redact at the source logger too,
# so a handler configured without our filter still never prints them.
_ccxt_logger = logging.getLogger("ccxt.base.exchange")
if not any(isinstance(f, RedactSecretsFilter) for f in _ccxt_logger.filters):
    _ccxt_logger.addFilter(RedactSecretsFilter())


def D(value: Any) -> Decimal:  # noqa: N802 - short on purpose, used in conversions only
    if value is None or value == "":
        return ZERO
    return Decimal(str(value))


def _optional(value: Any) -> Decimal | None:
    return None if value in (None, "", 0, 0.0) else Decimal(str(value))


def ccxt_client_create(exchange_id: str, *, api_key: str = "", secret: str = "", api_base: str | None = None,
                       limiter: BurstRateLimiter | None = None, timeout_ms: int = DEFAULT_TIMEOUT_MS
                       ) -> ccxt_async.Exchange:
    """An async ccxt client. `api_base` rewrites every API URL to another host (the emulator)."""
    cls = getattr(ccxt_async, exchange_id, None)
    if cls is None:
        raise gw.PermanentGatewayError(f"ccxt has no exchange {exchange_id!r}",
                                       user_message=f"The exchange {exchange_id!r} is not supported.")
    client = cls({
        "apiKey": api_key,
        "secret": secret,
        # ccxt's leaky bucket for ordinary clients; a BurstRateLimiter replaces its hook below.
        "enableRateLimit": True,
        "timeout": timeout_ms,
        "verbose": False,  # verbose prints requests (with signatures) to stdout, bypassing logging
        "options": {
            "fetchCurrencies": False,  # else load_markets first calls the spot capital/config endpoint
            "adjustForTimeDifference": False,
            "warnOnFetchOpenOrdersWithoutSymbol": False,
            "recvWindow": 10_000,
        },
    })
    if api_base:
        base = api_base.rstrip("/")
        for name, url in list(client.urls["api"].items()):
            if isinstance(url, str) and url.startswith("https://"):
                client.urls["api"][name] = base + url[url.index("/", len("https://")):]
    if limiter is not None:
        client.throttle = limiter.throttle  # ccxt awaits self.throttle(cost) before each request
    return client


def market_from_ccxt(m: dict[str, Any]) -> Market:
    limits = m.get("limits") or {}
    leverage_max = (limits.get("leverage") or {}).get("max")
    return Market(
        symbol=m["symbol"],
        exchange_symbol=m["id"],
        base=m["base"],
        quote=m["quote"],
        price_step=D(m["precision"]["price"]),
        amount_step=D(m["precision"]["amount"]),
        min_amount=D((limits.get("amount") or {}).get("min")),
        min_notional=D((limits.get("cost") or {}).get("min")),
        max_leverage=int(leverage_max) if leverage_max else 0,  # 0: the exchange did not say
        contract=bool(m.get("contract")),
    )


def snapshot_from_ccxt(o: dict[str, Any]) -> OrderSnapshot:
    amount = D(o.get("amount"))
    filled = D(o.get("filled"))
    remaining = o.get("remaining")
    fee = o.get("fee") or {}
    return OrderSnapshot(
        client_order_id=o.get("clientOrderId") or "",
        exchange_order_id=str(o.get("id") or ""),
        symbol=o.get("symbol") or "",
        side=o.get("side"),
        type=o.get("type") or "",
        status=o.get("status") or "open",
        amount=amount,
        filled=filled,
        remaining=D(remaining) if remaining is not None else amount - filled,
        price=_optional(o.get("price")),
        average=_optional(o.get("average")),
        cost=D(o.get("cost")),
        fee=D(fee.get("cost")),
        fee_currency=fee.get("currency") or "",
        timestamp_ms=o.get("lastUpdateTimestamp") or o.get("timestamp"),
        raw=o.get("info") or {},
    )


def position_from_ccxt(p: dict[str, Any]) -> Position | None:
    contracts = D(p.get("contracts"))
    if not contracts:
        return None
    leverage = p.get("leverage")
    if not leverage and p.get("initialMarginPercentage"):
        leverage = round(1 / float(p["initialMarginPercentage"]))
    return Position(
        symbol=p["symbol"],
        side=p.get("side") or ("long" if D(p.get("notional")) >= 0 else "short"),
        amount=contracts * D(p.get("contractSize") or 1),
        entry_price=D(p.get("entryPrice")),
        leverage=int(leverage or 1),
        unrealized_pnl=D(p.get("unrealizedPnl")),
        liquidation_price=_optional(p.get("liquidationPrice")),
    )


@dataclass(frozen=True)
class _SignedAhead:
    request: OrderRequest
    market: dict[str, Any]
    entry: Any  # ccxt's implicit endpoint (path, api, method, config)
    params: dict[str, Any]
    signed: dict[str, Any] = field(repr=False)  # ccxt's sign(): url, method, headers (API key), body
    at: float  # monotonic

    def fresh_at(self, now: float) -> bool:
        return now - self.at < SIGNED_AHEAD_MAX_AGE_SECONDS


@dataclass
class LiveGateway:
    """ExchangeGateway over one ccxt async client. Build through LiveGatewayPool, not directly."""

    exchange_id: str
    client: ccxt_async.Exchange
    limiter: BurstRateLimiter | None = None
    owns_client: bool = False  # pooled clients are closed by the pool, not by the gateway
    exchange_setting_id: int | None = None  # the saved key this client signs with (None: unsaved/public)
    # client order id -> a request signed ahead (it carries the API key header: never in a repr)
    signed_ahead: dict[str, _SignedAhead] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ helpers
    def _map(self, exc: BaseException) -> gw.GatewayError:
        headers = getattr(self.client, "last_response_headers", None)
        return map_ccxt_error(exc, response_headers=headers if isinstance(headers, dict) else None)

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self.client, method)(*args, **kwargs)
        except gw.GatewayError:
            raise
        except Exception as exc:
            raise self._map(exc) from None

    async def _ensure_markets(self) -> dict[str, Any]:
        if not self.client.markets:
            await self._call("load_markets")
        return self.client.markets

    async def _unified(self, symbol: str) -> str:
        await self._ensure_markets()
        unified = self._unified_loaded(symbol)
        if unified is None:
            raise gw.UnknownSymbol(f"unknown symbol {symbol!r}",
                                   user_message=f"The exchange does not list {symbol}.")
        return unified

    def _unified_loaded(self, symbol: str) -> str | None:
        """Accept "BTC/USDT:USDT", "BTC/USDT" (this exchange's contract) or the exchange id "BTCUSDT";
        None when the loaded markets do not list it (or none are loaded)."""
        markets = self.client.markets or {}
        if symbol in markets:
            return symbol
        by_id = self.client.markets_by_id or {}
        if symbol in by_id:
            return by_id[symbol][0]["symbol"]
        if "/" in symbol and ":" not in symbol:
            settled = f"{symbol}:{symbol.split('/', 1)[1]}"
            if settled in markets:
                return settled
        return None

    @staticmethod
    def _order_ref(exchange_order_id: str | None, client_order_id: str | None) -> tuple[str | None, dict[str, str]]:
        if client_order_id:
            return None, {"origClientOrderId": client_order_id}
        if exchange_order_id:
            return exchange_order_id, {}
        raise ValueError("exchange_order_id or client_order_id is required")

    # ------------------------------------------------------------------ market data
    async def load_markets(self) -> dict[str, Market]:
        markets = await self._ensure_markets()
        return {symbol: market_from_ccxt(m) for symbol, m in markets.items() if m.get("active", True) is not False}

    async def fetch_ticker(self, symbol: str) -> Ticker:
        t = await self._call("fetch_ticker", await self._unified(symbol))
        return Ticker(symbol=t["symbol"], last=D(t.get("last")), bid=_optional(t.get("bid")),
                      ask=_optional(t.get("ask")), timestamp_ms=int(t.get("timestamp") or 0))

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        book = await self._call("fetch_order_book", await self._unified(symbol), limit)
        return OrderBook(
            symbol=book["symbol"],
            bids=[(D(p), D(a)) for p, a, *_ in book["bids"]],
            asks=[(D(p), D(a)) for p, a, *_ in book["asks"]],
            timestamp_ms=int(book.get("timestamp") or 0),
        )

    async def fetch_ohlcv(self, symbol: str, timeframe: str, since_ms: int | None = None,
                          limit: int | None = None) -> list[list[float]]:
        return await self._call("fetch_ohlcv", await self._unified(symbol), timeframe, since_ms, limit)

    # ------------------------------------------------------------------ account
    async def fetch_balance(self) -> dict[str, Balance]:
        raw = await self._call("fetch_balance")
        result = {}
        for currency, row in raw.items():
            if currency in _BALANCE_META or not isinstance(row, dict):
                continue
            result[currency] = Balance(currency=currency, total=D(row.get("total")), free=D(row.get("free")),
                                       used=D(row.get("used")))
        return result

    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        unified = [await self._unified(s) for s in symbols] if symbols else None
        rows = await self._call("fetch_positions", unified)
        return [p for p in (position_from_ccxt(row) for row in rows) if p is not None]

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        await self._call("set_leverage", int(leverage), await self._unified(symbol))

    # ------------------------------------------------------------------ orders
    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        symbol = await self._unified(request.symbol)
        params: dict[str, Any] = {"newClientOrderId": request.client_order_id}
        if request.reduce_only:
            params["reduceOnly"] = True
        if request.type == "limit":
            params["timeInForce"] = "GTC"
        price = float(request.price) if request.price is not None else None
        if self.limiter is not None:
            await self.limiter.order_slot()
        ahead = self.signed_ahead.pop(request.client_order_id, None)
        try:
            if ahead is not None and ahead.request == request and ahead.fresh_at(time.monotonic()):
                raw = self.client.parse_order(await self._send_signed(ahead), ahead.market)
                return snapshot_from_ccxt(raw)
            lean = self._linear_usdm_order(symbol, request)
            if lean is not None:
                market, order_request = lean
                raw = self.client.parse_order(await self.client.fapiPrivatePostOrder(order_request), market)
            else:
                raw = await self.client.create_order(symbol, request.type, request.side, float(request.amount),
                                                     price, params)
        except Exception as exc:
            error = self._map(exc)
            # A rate-limit or clock rejection never executed; anything else temporary might have.
            if isinstance(error, gw.TemporaryGatewayError) and not isinstance(
                error, gw.RateLimited | gw.ExchangeClockSkew | gw.OrderResultUnknown
            ):
                raise gw.OrderResultUnknown(str(error)) from None
            raise error from None
        return snapshot_from_ccxt(raw)

    def sign_ahead(self, request: OrderRequest) -> bool:
        """Have ccxt build and sign `request` now, so that `create_order` of the very same request, within
        SIGNED_AHEAD_MAX_AGE_SECONDS, only sends it: ccxt's own `sign()` (parameters, timestamp, HMAC), done
        before the user presses. False (nothing kept) unless it is a plain Binance USDⓈ-M order of a
        loaded market. Older requests signed ahead are dropped."""
        now = time.monotonic()
        for client_order_id in [cid for cid, ahead in self.signed_ahead.items() if not ahead.fresh_at(now)]:
            del self.signed_ahead[client_order_id]
        symbol = self._unified_loaded(request.symbol)
        lean = self._linear_usdm_order(symbol, request) if symbol is not None else None
        if lean is None:
            return False
        market, params = lean
        entry = inspect.getattr_static(type(self.client), "fapiPrivatePostOrder")
        signed = self.client.sign(entry.path, entry.api, entry.method, params)
        self.signed_ahead[request.client_order_id] = _SignedAhead(
            request=request, market=market, entry=entry, params=params, signed=signed, at=now)
        return True

    async def _send_signed(self, ahead: _SignedAhead) -> Any:
        """What ccxt's `fetch2` does after `sign()` (its retries are off for orders), with the request
        signed ahead."""
        client, entry, signed = self.client, ahead.entry, ahead.signed
        if client.enableRateLimit:
            await client.throttle(client.calculate_rate_limiter_cost(entry.api, entry.method, entry.path,
                                                                     ahead.params, entry.config))
        client.set_last_rest_request_timestamp()
        client.set_last_request(signed)
        return await client.fetch(signed["url"], signed["method"], signed["headers"], signed["body"])

    def _linear_usdm_order(self, symbol: str, request: OrderRequest) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(market, request) of a plain Binance USDⓈ-M order, exactly as ccxt's `create_order` builds it
        for `fapiPrivatePostOrder` (a test compares the signed requests), or None for anything else.

        ccxt's generic path (`create_order` → `create_order_request`: option, portfolio-margin, algo, SOR
        and spot branches, parameter checks) costs ~0.3 ms of CPU per order here; a plain market or limit
        order on a linear perpetual needs none of it, and the Ttadak press waits on every microsecond."""
        client = self.client
        if client.id != "binanceusdm" or request.type not in ("market", "limit") or \
                client.safe_bool_2(client.options, "papi", "portfolioMargin", False):
            return None
        market = client.markets.get(symbol) if client.markets else None
        if market is None or not market.get("linear") or not (market.get("swap") or market.get("future")):
            return None
        order: dict[str, Any] = {"symbol": market["id"], "side": request.side.upper(),
                                 "newClientOrderId": request.client_order_id, "newOrderRespType": "RESULT",
                                 "type": request.type.upper(),
                                 "quantity": client.amount_to_precision(symbol, float(request.amount))}
        if request.type == "limit":
            if request.price is None:
                return None
            order["price"] = client.price_to_precision(symbol, float(request.price))
        if request.reduce_only:
            order["reduceOnly"] = "true"
        if request.type == "limit":
            order["timeInForce"] = "GTC"  # after reduceOnly, as ccxt orders them
        return market, order

    async def cancel_order(self, symbol: str, *, exchange_order_id: str | None = None,
                           client_order_id: str | None = None) -> OrderSnapshot:
        order_id, params = self._order_ref(exchange_order_id, client_order_id)
        if self.limiter is not None:
            await self.limiter.order_slot()
        raw = await self._call("cancel_order", order_id, await self._unified(symbol), params)
        return snapshot_from_ccxt(raw)

    async def fetch_order(self, symbol: str, *, exchange_order_id: str | None = None,
                          client_order_id: str | None = None) -> OrderSnapshot:
        order_id, params = self._order_ref(exchange_order_id, client_order_id)
        raw = await self._call("fetch_order", order_id, await self._unified(symbol), params)
        return snapshot_from_ccxt(raw)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        unified = await self._unified(symbol) if symbol else None
        rows = await self._call("fetch_open_orders", unified)
        return [snapshot_from_ccxt(o) for o in rows]

    async def fetch_order_fee(self, symbol: str, exchange_order_id: str) -> tuple[Decimal, str]:
        """Total commission of an order's fills (futures order answers carry no fee)."""
        trades = await self._call("fetch_my_trades", await self._unified(symbol), None, None,
                                  {"orderId": exchange_order_id})
        fee, currency = ZERO, ""
        for trade in trades:
            cost = (trade.get("fee") or {}).get("cost")
            fee += D(cost)
            currency = (trade.get("fee") or {}).get("currency") or currency
        return fee, currency

    # ------------------------------------------------------------------ key validation
    async def check_key(self) -> KeyCheck:
        """Validate the key with signed calls: its permissions, then the futures account (balances).

        Raises TemporaryGatewayError when the exchange cannot answer now (nothing can be concluded).
        """
        now = timezone.now()
        restrictions: dict[str, Any] | None = None
        if hasattr(self.client, "sapiGetAccountApiRestrictions"):
            try:
                restrictions = await self._call("sapiGetAccountApiRestrictions")
            except gw.AuthenticationFailed as error:
                field = "api_secret" if error.user_message == AUTH_MESSAGES[-1022] else "api_key"
                return KeyCheck(valid=False, message=error.user_message, checked_at=now, field=field)
        can_withdraw = bool(restrictions.get("enableWithdrawals")) if restrictions else None
        can_futures = bool(restrictions.get("enableFutures")) if restrictions else None
        # The platform trades USDⓈ-M futures only: "can trade" means trading works on that market.
        can_trade = can_futures
        if can_futures is False:
            return KeyCheck(
                valid=False, can_trade=can_trade, can_trade_futures=False, can_withdraw=can_withdraw, checked_at=now,
                message="The key is valid but cannot trade futures: tick 'Enable Futures' for it in the exchange's "
                        "API management, then check again." + _withdraw_warning(can_withdraw),
            )
        try:
            balances = await self.fetch_balance()
        except gw.AuthenticationFailed as error:
            if restrictions is None:  # an exchange without a permissions endpoint: its refusal is the answer
                return KeyCheck(valid=False, message=error.user_message, checked_at=now, field="api_key")
            return KeyCheck(
                valid=False, can_trade=can_trade, can_trade_futures=False, can_withdraw=can_withdraw, checked_at=now,
                message="The key is valid but the futures account refused it: enable futures for the key "
                        "(and open a USDⓈ-M futures account), then check again." + _withdraw_warning(can_withdraw),
            )
        held = tuple(b for b in balances.values() if b.total)
        summary = ", ".join(f"{b.total.normalize():f} {b.currency}" for b in held) or "no funds yet"
        return KeyCheck(
            valid=True, can_trade=True, can_trade_futures=True,
            can_withdraw=can_withdraw, balances=held, checked_at=now,
            message=f"The key works and can trade futures. Futures balance: {summary}."
                    + _withdraw_warning(can_withdraw),
        )

    async def close(self) -> None:
        if self.owns_client:
            await self.client.close()


def _withdraw_warning(can_withdraw: bool | None) -> str:
    if not can_withdraw:
        return ""
    return (" WARNING: this key can WITHDRAW funds. The platform never needs that right; turn off "
            "'Enable Withdrawals' for the key (or create a key without it) to protect your money.")
