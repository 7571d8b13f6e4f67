"""The emulator's HTTP face: the Binance USDⓈ-M REST subset ccxt `binanceusdm` uses, plus `/_emulator/…`.

Signed endpoints check X-MBX-APIKEY, the HMAC-SHA256 `signature` over query string + body (as Binance
does), and `timestamp`/`recvWindow`. Every exchange request is recorded with its arrival time
(`time.perf_counter_ns()` and wall-clock ns) before anything else happens, faults included.

Arrival is when the request's first bytes reached the emulator's socket: the kernel's receive timestamp
(`SO_TIMESTAMPNS`, read with the bytes by `ArrivalStampingProtocol`), as an exchange's network edge would
stamp it. The emulator shares this machine's CPUs with the client it measures, so when it reads the bytes
(also recorded, `read_perf_ns`) depends on when it is scheduled and on its own work — the client's part
ends when the bytes arrive. Where the kernel gives no stamp, the read is the arrival.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from emulators.exchange.engine import ApiKey, EmulatorError, Exchange, RequestRecord, mandatory, now_ms
from emulators.exchange.faults import Fault, FaultPlan
from emulators.exchange.markets import exchange_info

logger = logging.getLogger(__name__)

EXCHANGE_KEY = web.AppKey("exchange", Exchange)
FAULTS_KEY = web.AppKey("faults", FaultPlan)
RAW_BODY = web.RequestKey("raw_body", str)
ARRIVAL_WINDOW_SECONDS = 0.0003
ARRIVALS_KEY = web.AppKey("arrivals", dict)  # transport → (arrival, read) perf_counter_ns of its pending request
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SIGNED_PREFIXES = ("/fapi/v1/", "/fapi/v2/", "/fapi/v3/", "/sapi/")
PUBLIC_PATHS = {
    "/fapi/v1/ping", "/fapi/v1/time", "/fapi/v1/exchangeInfo", "/fapi/v1/klines", "/fapi/v1/ticker/24hr",
    "/fapi/v1/depth", "/fapi/v1/ticker/price", "/fapi/v1/ticker/bookTicker", "/fapi/v1/premiumIndex",
}


def _error(error: EmulatorError) -> web.Response:
    return web.json_response({"code": error.code, "msg": error.msg}, status=error.status)


def _drop(request: web.Request) -> web.Response:
    """Close the TCP connection without an answer; the client sees a dropped connection."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError  # aiohttp treats this as a lost client and writes nothing


def _fault_response(fault: Fault, request: web.Request, record: RequestRecord) -> web.Response:
    if fault.kind == "drop":
        record.done_perf_ns = time.perf_counter_ns()
        return _drop(request)
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
    code = fault.code if fault.code is not None else -1000
    return web.json_response({"code": code, "msg": fault.msg or "An unknown error occurred."},
                             status=fault.status, headers=headers)


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python names it only from 3.12 on
_TIMESTAMP_SPACE = socket.CMSG_SPACE(16)


class _KernelStampedSocket:
    """Stands in for a connection's socket in its asyncio transport: reads with `recvmsg`, so the kernel's
    receive timestamp of the bytes comes with them (on CLOCK_REALTIME, turned into perf_counter ns). A read
    that takes several TCP segments carries the last one's stamp: never earlier than the bytes arrived."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self.last_arrival_ns: int | None = None

    def recv(self, size: int) -> bytes:
        data, ancillary, _flags, _address = self._sock.recvmsg(size, _TIMESTAMP_SPACE)
        self.last_arrival_ns = None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
                seconds, nanoseconds = struct.unpack("qq", payload[:16])
                age_ns = time.time_ns() - (seconds * 1_000_000_000 + nanoseconds)
                self.last_arrival_ns = time.perf_counter_ns() - max(0, age_ns)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _stamp_in_kernel(transport: asyncio.BaseTransport) -> _KernelStampedSocket | None:
    """Have the transport read through a `_KernelStampedSocket` (None where it has no plain TCP socket:
    TLS, another loop's transport — its reads are stamped when they are read). The connection inherits
    SO_TIMESTAMPNS from the listening socket (runner.ArrivalStampingSite); without it, reads carry no stamp
    and the read is the arrival."""
    sock = getattr(transport, "_sock", None)
    if not isinstance(sock, socket.socket) or sock.type != socket.SOCK_STREAM:
        return None
    stamped = _KernelStampedSocket(sock)
    transport._sock = stamped  # type: ignore[attr-defined]  # read_ready calls self._sock.recv
    return stamped


class ArrivalStampingProtocol(asyncio.Protocol):
    """Wraps aiohttp's per-connection protocol to stamp when a request's first bytes arrived and were read.

    The stamps (arrival: the kernel's, else the read; read) wait in `arrivals` (keyed by the transport)
    until the request's handling takes them; the client sends its next request on a keep-alive
    connection only after the answer, so one pending stamp per connection is enough (a pipelined
    request falls back to its handling time).
    """

    def __init__(self, inner: asyncio.Protocol, arrivals: dict[Any, tuple[int, int] | None]):
        self.inner = inner
        self.arrivals = arrivals
        self.transport: asyncio.BaseTransport | None = None
        self._socket: _KernelStampedSocket | None = None
        self._pending: list[bytes] = []
        self._handing_over: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._socket = _stamp_in_kernel(transport)
        self.arrivals[transport] = None
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.arrivals.get(self.transport) is None:
            read_ns = time.perf_counter_ns()
            arrived_ns = self._socket.last_arrival_ns if self._socket is not None else None
            self.arrivals[self.transport] = (min(arrived_ns, read_ns) if arrived_ns else read_ns, read_ns)
        # Parsing is handed over after the loop's next poll: bytes that arrived meanwhile on another
        # connection are read and stamped first, not after this request's HTTP parsing (one process
        # stands in for an exchange's many front ends). A timer, not call_soon: timers due run after
        # the next poll's read callbacks. Chunks of one connection keep their order.
        self._pending.append(data)
        if self._handing_over is None:
            self._handing_over = asyncio.get_running_loop().call_later(0, self._hand_over)

    def _hand_over(self) -> None:
        self._handing_over = None
        pending, self._pending = self._pending, []
        for data in pending:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        self._flush()
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._flush()
        self.arrivals.pop(self.transport, None)
        self.inner.connection_lost(exc)

    def _flush(self) -> None:
        if self._handing_over is not None:
            self._handing_over.cancel()
            self._hand_over()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


def _arrival(request: web.Request) -> tuple[int, int, int]:
    """(arrival and read as perf_counter_ns, arrival as wall-clock ns) of the request's first bytes; now
    for a request whose bytes were not stamped."""
    now_perf, now_wall = time.perf_counter_ns(), time.time_ns()
    arrivals = request.app.get(ARRIVALS_KEY)
    transport = request.transport
    stamped = arrivals.get(transport) if arrivals is not None and transport is not None else None
    if stamped is None:
        return now_perf, now_perf, now_wall
    arrivals[transport] = None
    arrived, read = stamped
    return arrived, read, now_wall - (now_perf - arrived)


@web.middleware
async def record_and_inject(request: web.Request, handler: Handler) -> web.StreamResponse:
    arrival_perf, read_perf, arrival_wall = _arrival(request)
    if request.path.startswith("/_emulator"):
        return await handler(request)
    exchange = request.app[EXCHANGE_KEY]
    form: dict[str, str] = {}
    if request.method in ("POST", "PUT") and request.can_read_body:
        raw = await request.text()
        request[RAW_BODY] = raw
        form = dict(parse_qsl(raw, keep_blank_values=True))
    api_key = request.headers.get("X-MBX-APIKEY")
    record = exchange.record_request(
        method=request.method, path=request.path, query=dict(request.query), form=form, api_key=api_key,
        remote=request.remote, perf_ns=arrival_perf, read_perf_ns=read_perf, wall_ns=arrival_wall,
    )
    # Let requests arriving on other connections at about the same time be read and stamped before this
    # one is processed (the loop is busy while it is): near-simultaneous arrivals are then stamped as
    # they arrived, not one request's processing apart. Costs every answer this much latency.
    await asyncio.sleep(ARRIVAL_WINDOW_SECONDS)
    latency_ms, fault = request.app[FAULTS_KEY].select(request.method, request.path, api_key)
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)
    if fault is not None:
        record.fault = f"{fault.kind}:{fault.when}:{fault.status}"
    try:
        if fault is not None and (fault.when == "before" or fault.kind == "error"):
            response = _fault_response(fault, request, record)
        else:
            response = await handler(request)
            if fault is not None:
                response = _fault_response(fault, request, record)
    except EmulatorError as error:
        response = _error(error)
    record.status = response.status
    if response.status >= 400 and isinstance(response, web.Response) and response.body:
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            record.code = json.loads(response.body).get("code")
    record.done_perf_ns = time.perf_counter_ns()
    return response


def _params(request: web.Request) -> dict[str, str]:
    params = dict(request.query)
    if RAW_BODY in request:
        params.update(parse_qsl(request[RAW_BODY], keep_blank_values=True))
    return params


def _authenticate(request: web.Request, *, need_futures: bool = True) -> tuple[ApiKey, dict[str, str]]:
    """Binance's checks, in Binance's order: key, IP, signature, timestamp window, permission."""
    exchange = request.app[EXCHANGE_KEY]
    key = exchange.key_for(request.headers.get("X-MBX-APIKEY"), request.remote)
    query_string = request.query_string
    body = request.get(RAW_BODY, "")
    signature = None
    payload_parts = []
    for part in (query_string, body):
        if not part:
            continue
        marker = part.find("signature=")
        if marker >= 0:
            end = part.find("&", marker)
            signature = part[marker + len("signature="): end if end >= 0 else None]
            part = (part[:marker] + (part[end + 1:] if end >= 0 else "")).rstrip("&")
        payload_parts.append(part)
    if not signature:
        raise mandatory("signature")
    expected = hmac.new(key.secret.encode(), "".join(payload_parts).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise EmulatorError(-1022, "Signature for this request is not valid.")
    params = _params(request)
    params.pop("signature", None)
    if not params.get("timestamp"):
        raise mandatory("timestamp")
    try:
        timestamp = int(params["timestamp"])
        recv_window = int(params.get("recvWindow", 5000))
    except ValueError:
        raise EmulatorError(-1130, "Data sent for parameter 'timestamp' is not valid.") from None
    if recv_window > 60000:
        raise EmulatorError(-1131, "recvWindow must be less than 60000")
    server = now_ms()
    if timestamp >= server + 1000 or server - timestamp > recv_window:
        raise EmulatorError(-1021, "Timestamp for this request is outside of the recvWindow.")
    if need_futures and not key.enable_futures:
        raise EmulatorError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    return key, params


def _json(data: Any) -> web.Response:
    return web.json_response(data)


# ------------------------------------------------------------------------------------------ public
async def ping(request: web.Request) -> web.Response:
    return _json({})


async def server_time(request: web.Request) -> web.Response:
    return _json({"serverTime": now_ms()})


async def get_exchange_info(request: web.Request) -> web.Response:
    exchange = request.app[EXCHANGE_KEY]
    return _json(exchange_info(now_ms(), exchange.instruments))


async def klines(request: web.Request) -> web.Response:
    q = request.query
    if not q.get("symbol"):
        raise mandatory("symbol")
    if not q.get("interval"):
        raise mandatory("interval")
    limit = min(int(q.get("limit", 500)), 1500)
    start = int(q["startTime"]) if q.get("startTime") else None
    end = int(q["endTime"]) if q.get("endTime") else None
    return _json(request.app[EXCHANGE_KEY].klines(q["symbol"], q["interval"], start, end, limit))


async def ticker_24hr(request: web.Request) -> web.Response:
    exchange = request.app[EXCHANGE_KEY]
    symbol = request.query.get("symbol")
    if symbol:
        return _json(exchange.ticker_24hr(symbol))
    return _json([exchange.ticker_24hr(s) for s in exchange.instruments])


async def ticker_price(request: web.Request) -> web.Response:
    exchange = request.app[EXCHANGE_KEY]
    symbols = [request.query["symbol"]] if request.query.get("symbol") else list(exchange.instruments)
    rows = [{"symbol": s.upper(), "price": format(exchange.price(s), "f"), "time": now_ms()} for s in symbols]
    return _json(rows[0] if request.query.get("symbol") else rows)


async def book_ticker(request: web.Request) -> web.Response:
    exchange = request.app[EXCHANGE_KEY]
    symbols = [request.query["symbol"]] if request.query.get("symbol") else list(exchange.instruments)
    rows = []
    for s in symbols:
        with exchange.lock:
            bid, ask = exchange.book_top(s)
        rows.append({"symbol": s.upper(), "bidPrice": format(bid, "f"), "bidQty": "1", "askPrice": format(ask, "f"),
                     "askQty": "1", "time": now_ms()})
    return _json(rows[0] if request.query.get("symbol") else rows)


async def premium_index(request: web.Request) -> web.Response:
    exchange = request.app[EXCHANGE_KEY]
    symbols = [request.query["symbol"]] if request.query.get("symbol") else list(exchange.instruments)
    rows = [{"symbol": s.upper(), "markPrice": format(exchange.price(s), "f"),
             "indexPrice": format(exchange.price(s), "f"), "lastFundingRate": "0.00010000",
             "nextFundingTime": (now_ms() // 28_800_000 + 1) * 28_800_000, "interestRate": "0.00010000",
             "time": now_ms()} for s in symbols]
    return _json(rows[0] if request.query.get("symbol") else rows)


async def depth(request: web.Request) -> web.Response:
    symbol = request.query.get("symbol")
    if not symbol:
        raise mandatory("symbol")
    limit = int(request.query.get("limit", 20))
    return _json(request.app[EXCHANGE_KEY].depth(symbol, min(limit, 100)))


# ------------------------------------------------------------------------------------------ signed
async def account_v2(request: web.Request) -> web.Response:
    key, _ = _authenticate(request)
    return _json(request.app[EXCHANGE_KEY].account_info(key, 2))


async def account_v3(request: web.Request) -> web.Response:
    key, _ = _authenticate(request)
    return _json(request.app[EXCHANGE_KEY].account_info(key, 3))


async def balance(request: web.Request) -> web.Response:
    key, _ = _authenticate(request)
    return _json(request.app[EXCHANGE_KEY].balances(key))


async def position_risk_v2(request: web.Request) -> web.Response:
    key, params = _authenticate(request)
    return _json(request.app[EXCHANGE_KEY].position_risk(key, params.get("symbol"), 2))


async def position_risk_v3(request: web.Request) -> web.Response:
    key, params = _authenticate(request)
    return _json(request.app[EXCHANGE_KEY].position_risk(key, params.get("symbol"), 3))


async def leverage_bracket(request: web.Request) -> web.Response:
    _, params = _authenticate(request)
    return _json(request.app[EXCHANGE_KEY].leverage_brackets(params.get("symbol")))


async def set_leverage(request: web.Request) -> web.Response:
    key, params = _authenticate(request)
    return _json(request.app[EXCHANGE_KEY].set_leverage(key, params.get("symbol"), params.get("leverage")))


async def position_side_dual(request: web.Request) -> web.Response:
    _authenticate(request)
    return _json({"dualSidePosition": False})


async def multi_assets_margin(request: web.Request) -> web.Response:
    _authenticate(request)
    return _json({"multiAssetsMargin": False})


async def order(request: web.Request) -> web.Response:
    key, params = _authenticate(request)
    exchange = request.app[EXCHANGE_KEY]
    if request.method == "POST":
        return _json(exchange.place_order(key, params))
    if request.method == "DELETE":
        return _json(exchange.cancel_order(key, params))
    return _json(exchange.get_order(key, params))


async def open_orders(request: web.Request) -> web.Response:
    key, params = _authenticate(request)
    return _json(request.app[EXCHANGE_KEY].open_orders(key, params.get("symbol")))


async def all_orders(request: web.Request) -> web.Response:
    key, params = _authenticate(request)
    return _json(request.app[EXCHANGE_KEY].all_orders(key, params.get("symbol"), int(params.get("limit", 500))))


async def user_trades(request: web.Request) -> web.Response:
    key, params = _authenticate(request)
    return _json(request.app[EXCHANGE_KEY].user_trades(key, params))


async def commission_rate(request: web.Request) -> web.Response:
    _, params = _authenticate(request)
    return _json({"symbol": params.get("symbol", ""), "makerCommissionRate": "0.000200",
                  "takerCommissionRate": "0.000500"})


async def api_restrictions(request: web.Request) -> web.Response:
    key, _ = _authenticate(request, need_futures=False)
    return _json(key.restrictions())


# ------------------------------------------------------------------------------------------ control
async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    return await request.json()


def _order_view(exchange: Exchange, order: Any) -> dict[str, Any]:
    data = order.to_api(exchange.instruments[order.symbol])
    data["account"] = order.account
    data["commission"] = format(order.commission, "f")
    return data


async def control_keys(request: web.Request) -> web.Response:
    spec = await _body(request)
    perms = spec.pop("permissions", {}) or {}
    key = request.app[EXCHANGE_KEY].create_key(
        api_key=spec.get("api_key"), secret=spec.get("secret"), account=spec.get("account"),
        balances=spec.get("balances"), futures=perms.get("futures", True), spot=perms.get("spot", False),
        withdrawals=perms.get("withdrawals", False), ip_allowlist=spec.get("ip_allowlist"),
    )
    return _json({"api_key": key.key, "secret": key.secret, "account": key.account})


async def control_price(request: web.Request) -> web.Response:
    exchange = request.app[EXCHANGE_KEY]
    if request.method == "GET":
        return _json({s: format(exchange.price(s), "f") for s in exchange.instruments})
    spec = await _body(request)
    exchange.set_price(spec["symbol"], spec["price"])
    return _json({"symbol": spec["symbol"].upper(), "price": format(exchange.price(spec["symbol"]), "f")})


async def control_advance(request: web.Request) -> web.Response:
    spec = await _body(request)
    exchange = request.app[EXCHANGE_KEY]
    exchange.advance(int(spec.get("bars", 1)))
    return _json({"cursor": exchange.clock.cursor, "market_time_ms": exchange.clock.market_time_ms()})


async def control_candles(request: web.Request) -> web.Response:
    spec = await _body(request)
    request.app[EXCHANGE_KEY].load_candles(spec["symbol"], spec["candles"], int(spec.get("start_index", 0)))
    return _json({"loaded": len(spec["candles"])})


async def control_faults(request: web.Request) -> web.Response:
    plan = request.app[FAULTS_KEY]
    if request.method == "POST":
        try:
            fault = plan.add(await _body(request))
        except (ValueError, TypeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return _json(fault.to_dict())
    if request.method == "DELETE":
        fault_id = request.match_info.get("fault_id")
        if fault_id:
            return _json({"removed": plan.remove(int(fault_id))})
        plan.clear()
        return _json({"removed": "all"})
    return _json([f.to_dict() for f in plan.list()])


async def control_requests(request: web.Request) -> web.Response:
    exchange = request.app[EXCHANGE_KEY]
    if request.method == "DELETE":
        with exchange.lock:
            exchange.request_log.clear()
        return _json({"cleared": True})
    q = request.query
    rows = exchange.requests(since=int(q.get("since", 0)), path=q.get("path"), api_key=q.get("api_key"))
    return _json([r.to_dict() for r in rows])


async def control_orders(request: web.Request) -> web.Response:
    exchange = request.app[EXCHANGE_KEY]
    account = request.query.get("account")
    if request.query.get("api_key"):
        key = exchange.keys.get(request.query["api_key"])
        account = key.account if key else "-"
    return _json([_order_view(exchange, o) for o in exchange.orders_of(account)])


async def control_account(request: web.Request) -> web.Response:
    exchange = request.app[EXCHANGE_KEY]
    name = request.match_info["account"]
    with exchange.lock:
        account = exchange.accounts.get(name)
        if account is None:
            return web.json_response({"error": "no such account"}, status=404)
        if request.method == "POST":
            spec = await _body(request)
            for asset, amount in spec.get("balances", {}).items():
                exchange.set_balance(name, asset, amount)
        return _json({
            "account": name,
            "balances": {a: format(v, "f") for a, v in account.balances.items()},
            "leverage": account.leverage,
            "positions": {s: {"amount": format(p.amount, "f"), "entry_price": format(p.entry_price, "f")}
                          for s, p in account.positions.items() if p.amount},
        })


async def control_reset(request: web.Request) -> web.Response:
    request.app[EXCHANGE_KEY].reset()
    request.app[FAULTS_KEY].clear()
    return _json({"reset": True})


async def control_state(request: web.Request) -> web.Response:
    exchange = request.app[EXCHANGE_KEY]
    return _json({"seed": exchange.seed, "mode": exchange.clock.mode, "cursor": exchange.clock.cursor,
                  "market_time_ms": exchange.clock.market_time_ms(), "interval_ms": exchange.clock.interval_ms,
                  "symbols": list(exchange.instruments)})


def _guard(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except EmulatorError as error:
            return _error(error)
        except (KeyError, ValueError) as error:
            if request.path.startswith("/_emulator"):
                return web.json_response({"error": f"bad control request: {error}"}, status=400)
            return _error(EmulatorError(-1128, f"Combination of optional parameters invalid: {error}"))

    return wrapped


def build_app(exchange: Exchange, faults: FaultPlan | None = None) -> web.Application:
    app = web.Application(middlewares=[record_and_inject])
    app[ARRIVALS_KEY] = {}
    app[EXCHANGE_KEY] = exchange
    app[FAULTS_KEY] = faults or FaultPlan(seed=exchange.seed)
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/fapi/v1/ping", ping),
        ("GET", "/fapi/v1/time", server_time),
        ("GET", "/fapi/v1/exchangeInfo", get_exchange_info),
        ("GET", "/fapi/v1/klines", klines),
        ("GET", "/fapi/v1/ticker/24hr", ticker_24hr),
        ("GET", "/fapi/v1/ticker/price", ticker_price),
        ("GET", "/fapi/v2/ticker/price", ticker_price),
        ("GET", "/fapi/v1/ticker/bookTicker", book_ticker),
        ("GET", "/fapi/v1/premiumIndex", premium_index),
        ("GET", "/fapi/v1/depth", depth),
        ("GET", "/fapi/v2/account", account_v2),
        ("GET", "/fapi/v3/account", account_v3),
        ("GET", "/fapi/v2/balance", balance),
        ("GET", "/fapi/v3/balance", balance),
        ("GET", "/fapi/v2/positionRisk", position_risk_v2),
        ("GET", "/fapi/v3/positionRisk", position_risk_v3),
        ("GET", "/fapi/v1/leverageBracket", leverage_bracket),
        ("POST", "/fapi/v1/leverage", set_leverage),
        ("GET", "/fapi/v1/positionSide/dual", position_side_dual),
        ("GET", "/fapi/v1/multiAssetsMargin", multi_assets_margin),
        ("POST", "/fapi/v1/order", order),
        ("GET", "/fapi/v1/order", order),
        ("DELETE", "/fapi/v1/order", order),
        ("GET", "/fapi/v1/openOrders", open_orders),
        ("GET", "/fapi/v1/allOrders", all_orders),
        ("GET", "/fapi/v1/userTrades", user_trades),
        ("GET", "/fapi/v1/commissionRate", commission_rate),
        ("GET", "/sapi/v1/account/apiRestrictions", api_restrictions),
        ("POST", "/_emulator/keys", control_keys),
        ("GET", "/_emulator/price", control_price),
        ("POST", "/_emulator/price", control_price),
        ("POST", "/_emulator/advance", control_advance),
        ("POST", "/_emulator/candles", control_candles),
        ("GET", "/_emulator/faults", control_faults),
        ("POST", "/_emulator/faults", control_faults),
        ("DELETE", "/_emulator/faults", control_faults),
        ("DELETE", "/_emulator/faults/{fault_id}", control_faults),
        ("GET", "/_emulator/requests", control_requests),
        ("DELETE", "/_emulator/requests", control_requests),
        ("GET", "/_emulator/orders", control_orders),
        ("GET", "/_emulator/accounts/{account}", control_account),
        ("POST", "/_emulator/accounts/{account}", control_account),
        ("POST", "/_emulator/reset", control_reset),
        ("GET", "/_emulator/state", control_state),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guard(handler))
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app


async def _not_found(request: web.Request) -> web.Response:
    return web.json_response({"code": -5000, "msg": f"Path {request.path}, Method {request.method} is invalid"},
                             status=404)
