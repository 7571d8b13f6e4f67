"""The emulated exchange: API keys, accounts (balances, positions, leverage), orders and matching.

One-way position mode (positionSide BOTH), cross margin, USDT-margined. Market orders fill at once at
the best bid/ask (one tick around the current price); limit orders fill when they are marketable on
arrival (taker) or when a later bar trades through their price (maker, at the limit price). No partial
fills, funding or liquidation. Every public method takes the lock, so tests may call them from any
thread while the server runs.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from emulators.exchange.markets import INSTRUMENTS, Instrument
from emulators.exchange.prices import Bar, MarketClock, PriceFeed, quantize

TAKER_FEE = Decimal("0.0005")
MAKER_FEE = Decimal("0.0002")
DEFAULT_LEVERAGE = 20
CLIENT_ORDER_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
ORDER_LIMITS = ((10_000, 300, "TEN_SECONDS"), (60_000, 1200, "MINUTE"))
FINAL_STATUSES = {"FILLED", "CANCELED", "EXPIRED", "REJECTED"}
ZERO = Decimal(0)


class EmulatorError(Exception):
    """A Binance error answer: HTTP `status` with body {"code": code, "msg": msg}."""

    def __init__(self, code: int, msg: str, status: int = 400):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status


def invalid_key() -> EmulatorError:
    return EmulatorError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def mandatory(name: str) -> EmulatorError:
    return EmulatorError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class ApiKey:
    key: str
    secret: str
    account: str
    enable_futures: bool = True
    enable_spot: bool = False
    enable_withdrawals: bool = False
    enable_reading: bool = True
    ip_allowlist: list[str] | None = None
    created_ms: int = field(default_factory=now_ms)

    def restrictions(self) -> dict[str, Any]:
        """GET /sapi/v1/account/apiRestrictions."""
        return {
            "ipRestrict": bool(self.ip_allowlist),
            "createTime": self.created_ms,
            "enableReading": self.enable_reading,
            "enableWithdrawals": self.enable_withdrawals,
            "enableInternalTransfer": False,
            "enableMargin": False,
            "enableFutures": self.enable_futures,
            "permitsUniversalTransfer": False,
            "enableVanillaOptions": False,
            "enableFixApiTrade": False,
            "enableFixReadOnly": False,
            "enableSpotAndMarginTrading": self.enable_spot,
            "enablePortfolioMarginTrading": False,
        }


@dataclass
class Order:
    order_id: int
    client_order_id: str
    account: str
    symbol: str
    side: str  # BUY | SELL
    type: str  # MARKET | LIMIT
    time_in_force: str
    qty: Decimal
    price: Decimal
    reduce_only: bool
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    avg_price: Decimal = ZERO
    commission: Decimal = ZERO
    time_ms: int = field(default_factory=now_ms)
    update_ms: int = field(default_factory=now_ms)
    margin: Decimal = ZERO  # initial margin reserved while open

    def to_api(self, instrument: Instrument) -> dict[str, Any]:
        def fmt(value: Decimal, step: Decimal) -> str:
            return format(quantize(value, step), "f") if value else "0"

        return {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": self.status,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price, instrument.tick_size),
            "avgPrice": format(self.avg_price.normalize(), "f") if self.avg_price else "0",
            "origQty": fmt(self.qty, instrument.step_size),
            "executedQty": fmt(self.executed_qty, instrument.step_size),
            "cumQty": fmt(self.executed_qty, instrument.step_size),
            "cumQuote": format(self.cum_quote.quantize(Decimal("0.00001")), "f"),
            "timeInForce": self.time_in_force,
            "type": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": False,
            "side": self.side,
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": self.type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": self.time_ms,
            "updateTime": self.update_ms,
        }


@dataclass
class Fill:
    trade_id: int
    order: Order
    price: Decimal
    qty: Decimal
    commission: Decimal
    realized_pnl: Decimal
    maker: bool
    time_ms: int


@dataclass
class PositionState:
    amount: Decimal = ZERO  # signed: long > 0, short < 0
    entry_price: Decimal = ZERO
    update_ms: int = 0


@dataclass
class Account:
    name: str
    balances: dict[str, Decimal] = field(default_factory=dict)  # wallet balance per asset
    leverage: dict[str, int] = field(default_factory=dict)
    positions: dict[str, PositionState] = field(default_factory=dict)
    order_times: deque = field(default_factory=lambda: deque(maxlen=2000))


@dataclass
class RequestRecord:
    seq: int
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    api_key: str | None
    remote: str | None
    perf_ns: int  # arrival: the kernel's receive stamp of the first bytes (see server.ArrivalStampingProtocol)
    wall_ns: int
    read_perf_ns: int = 0  # when the emulator read those bytes
    status: int = 0
    code: int | None = None
    fault: str | None = None
    done_perf_ns: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        # The log is for tests and operators; the signature is useless to them and stays out.
        data["query"] = {k: v for k, v in self.query.items() if k != "signature"}
        data["form"] = {k: v for k, v in self.form.items() if k != "signature"}
        return data


class Exchange:
    """All state of one emulated exchange."""

    def __init__(self, *, seed: int = 1, mode: str = "manual", speed: float = 1.0, history_bars: int = 1500,
                 instruments: dict[str, Instrument] | None = None):
        self.lock = threading.RLock()
        self.seed = seed
        self.instruments = instruments or INSTRUMENTS
        self._mode, self._speed, self._history = mode, speed, history_bars
        self.request_log: deque[RequestRecord] = deque(maxlen=200_000)
        self._seq = 0
        self.reset()

    # ---------------------------------------------------------------- lifecycle and controls
    def reset(self) -> None:
        with self.lock:
            self.clock = MarketClock(mode=self._mode, speed=self._speed, history_bars=self._history)
            self.feed = PriceFeed(self.instruments, seed=self.seed, clock=self.clock)
            self._day_cache: dict[str, tuple[tuple[Any, ...], tuple[float, float, float, Decimal] | None]] = {}
            self.keys: dict[str, ApiKey] = {}
            self.accounts: dict[str, Account] = {}
            self.orders: dict[int, Order] = {}
            self.fills: list[Fill] = []
            self._by_client: dict[tuple[str, str], Order] = {}
            self._next_order_id = 4_000_000_001
            self._next_trade_id = 300_000_001
            self._matched_through = self.clock.cursor - 1
            self.request_log.clear()

    def create_key(self, *, api_key: str | None = None, secret: str | None = None, account: str | None = None,
                   balances: dict[str, Any] | None = None, futures: bool = True, spot: bool = False,
                   withdrawals: bool = False, ip_allowlist: list[str] | None = None) -> ApiKey:
        with self.lock:
            key = ApiKey(
                key=api_key or secrets.token_hex(32), secret=secret or secrets.token_hex(32), account="",
                enable_futures=futures, enable_spot=spot, enable_withdrawals=withdrawals,
                ip_allowlist=list(ip_allowlist) if ip_allowlist else None,
            )
            key.account = account or key.key[:16]
            acct = self.accounts.setdefault(key.account, Account(name=key.account))
            for asset, amount in (balances if balances is not None else {"USDT": "10000"}).items():
                acct.balances[asset] = Decimal(str(amount))
            self.keys[key.key] = key
            return key

    def set_balance(self, account: str, asset: str, amount: Any) -> None:
        with self.lock:
            self.accounts[account].balances[asset] = Decimal(str(amount))

    def set_price(self, symbol: str, price: Any) -> None:
        with self.lock:
            self._catch_up()
            self.feed.set_price(self._instrument(symbol).symbol, Decimal(str(price)))
            self._match_forming()

    def advance(self, bars: int = 1) -> None:
        with self.lock:
            self._catch_up()
            self.clock.advance(bars)
            self._catch_up()

    def load_candles(self, symbol: str, candles: list[list[float]], start_index: int = 0) -> None:
        with self.lock:
            self.feed.load_candles(self._instrument(symbol).symbol, candles, start_index=start_index)
            self._matched_through = self.clock.cursor - 1

    def price(self, symbol: str) -> Decimal:
        with self.lock:
            return self.feed.price(self._instrument(symbol).symbol)

    def record_request(self, **kwargs: Any) -> RequestRecord:
        with self.lock:
            self._seq += 1
            record = RequestRecord(seq=self._seq, **kwargs)
            self.request_log.append(record)
            return record

    def requests(self, *, since: int = 0, path: str | None = None, api_key: str | None = None) -> list[RequestRecord]:
        with self.lock:
            return [r for r in self.request_log
                    if r.seq > since and (path is None or r.path == path) and (api_key is None or r.api_key == api_key)]

    def orders_of(self, account: str | None = None) -> list[Order]:
        with self.lock:
            self._catch_up()
            return [o for o in self.orders.values() if account is None or o.account == account]

    # ---------------------------------------------------------------- authentication helpers
    def key_for(self, api_key: str | None, remote: str | None) -> ApiKey:
        with self.lock:
            if not api_key:
                raise EmulatorError(-2014, "API-key format invalid.", 401)
            key = self.keys.get(api_key)
            if key is None:
                raise invalid_key()
            if key.ip_allowlist and remote not in key.ip_allowlist:
                raise invalid_key()
            return key

    def _instrument(self, symbol: str | None) -> Instrument:
        if not symbol:
            raise mandatory("symbol")
        instrument = self.instruments.get(symbol.upper())
        if instrument is None:
            raise EmulatorError(-1121, "Invalid symbol.")
        return instrument

    # ---------------------------------------------------------------- market data
    def book_top(self, symbol: str) -> tuple[Decimal, Decimal]:
        instrument = self._instrument(symbol)
        mid = self.feed.price(instrument.symbol)
        return mid - instrument.tick_size, mid + instrument.tick_size

    def depth(self, symbol: str, limit: int) -> dict[str, Any]:
        with self.lock:
            self._catch_up()
            instrument = self._instrument(symbol)
            bid, ask = self.book_top(instrument.symbol)
            step = instrument.tick_size
            size = max(instrument.min_qty, quantize(Decimal(1000) / bid, instrument.step_size))
            bids = [[format(bid - step * i, "f"), format(size * (i + 1), "f")] for i in range(limit)]
            asks = [[format(ask + step * i, "f"), format(size * (i + 1), "f")] for i in range(limit)]
            return {"lastUpdateId": self._seq, "E": now_ms(), "T": now_ms(), "bids": bids, "asks": asks}

    def _day_stats(self, symbol: str) -> tuple[float, float, float, Decimal]:
        """(first open, high, low, volume) of the last 24 h of 1m bars, the forming one included.

        The completed bars' part is kept until a bar completes or the prices are rescaled: working it out
        walks 1,440 bars (~25 ms), and a busy emulator would stamp the orders that arrive meanwhile late."""
        bars_per_day = max(1, 86_400_000 // self.clock.interval_ms)
        if self.clock.interval_ms != 60_000:  # other intervals: aggregate to 1m bins as klines does
            bars = self.feed.klines(symbol, "1m", start_ms=None, end_ms=None, limit=bars_per_day)
            return (bars[0].open, max(b.high for b in bars), min(b.low for b in bars),
                    sum((Decimal(str(round(b.volume, 3))) for b in bars), Decimal(0)))
        cursor = self.clock.cursor
        key = (symbol, cursor, self.clock.origin_ms, self.feed.version(symbol))
        cached = self._day_cache.get(symbol)
        if cached is None or cached[0] != key:
            completed = [self.feed.bar(symbol, index) for index in range(max(0, cursor - bars_per_day + 1), cursor)]
            summary = (completed[0].open, max(b.high for b in completed), min(b.low for b in completed),
                       sum((Decimal(str(round(b.volume, 3))) for b in completed), Decimal(0))) if completed else None
            cached = (key, summary)
            self._day_cache[symbol] = cached
        forming = self.feed.forming_bar(symbol)
        forming_volume = Decimal(str(round(forming.volume, 3)))
        if cached[1] is None:
            return forming.open, forming.high, forming.low, forming_volume
        first_open, high, low, volume = cached[1]
        return first_open, max(high, forming.high), min(low, forming.low), volume + forming_volume

    def ticker_24hr(self, symbol: str) -> dict[str, Any]:
        with self.lock:
            self._catch_up()
            instrument = self._instrument(symbol)
            first_open, high_bar, low_bar, volume = self._day_stats(instrument.symbol)
            last = self.feed.price(instrument.symbol)
            first = quantize(first_open, instrument.tick_size)
            high = max(quantize(high_bar, instrument.tick_size), last)
            low = min(quantize(low_bar, instrument.tick_size), last)
            now = now_ms()
            return {
                "symbol": instrument.symbol,
                "priceChange": format(last - first, "f"),
                "priceChangePercent": format(((last - first) / first * 100).quantize(Decimal("0.001")), "f"),
                "weightedAvgPrice": format(quantize((high + low + last) / 3, instrument.tick_size), "f"),
                "lastPrice": format(last, "f"),
                "lastQty": format(instrument.min_qty, "f"),
                "openPrice": format(first, "f"),
                "highPrice": format(high, "f"),
                "lowPrice": format(low, "f"),
                "volume": format(volume, "f"),
                "quoteVolume": format((volume * last).quantize(Decimal("0.01")), "f"),
                "openTime": now - 86_400_000,
                "closeTime": now,
                "firstId": 1,
                "lastId": 1000,
                "count": 1000,
            }

    def klines(self, symbol: str, interval: str, start_ms: int | None, end_ms: int | None,
               limit: int) -> list[list[Any]]:
        from emulators.exchange.prices import INTERVALS_MS

        with self.lock:
            self._catch_up()
            instrument = self._instrument(symbol)
            if interval not in INTERVALS_MS:
                raise EmulatorError(-1120, "Invalid interval.")
            width = INTERVALS_MS[interval]
            rows = []
            for bar in self.feed.klines(instrument.symbol, interval, start_ms=start_ms, end_ms=end_ms, limit=limit):
                o, h, low, c = (format(quantize(v, instrument.tick_size), "f")
                                for v in (bar.open, bar.high, bar.low, bar.close))
                volume = format(Decimal(str(round(bar.volume, 3))), "f")
                quote = format((Decimal(volume) * Decimal(c)).quantize(Decimal("0.0001")), "f")
                close_ms = bar.open_ms + width - 1
                rows.append([bar.open_ms, o, h, low, c, volume, close_ms, quote, 100, volume, quote, "0"])
            return rows

    # ---------------------------------------------------------------- account views
    def _account(self, key: ApiKey) -> Account:
        return self.accounts[key.account]

    def _leverage(self, account: Account, symbol: str) -> int:
        return account.leverage.get(symbol, DEFAULT_LEVERAGE)

    def _unrealized(self, symbol: str, position: PositionState) -> Decimal:
        if not position.amount:
            return ZERO
        return (self.feed.price(symbol) - position.entry_price) * position.amount

    def _position_margin(self, account: Account) -> Decimal:
        total = ZERO
        for symbol, position in account.positions.items():
            if position.amount:
                total += abs(position.amount) * self.feed.price(symbol) / self._leverage(account, symbol)
        return total

    def _order_margin(self, account: Account) -> Decimal:
        return sum((o.margin for o in self.orders.values() if o.account == account.name and o.status == "NEW"), ZERO)

    def _available(self, account: Account) -> Decimal:
        wallet = account.balances.get("USDT", ZERO)
        unrealized = sum((self._unrealized(s, p) for s, p in account.positions.items()), ZERO)
        return wallet + unrealized - self._position_margin(account) - self._order_margin(account)

    def account_info(self, key: ApiKey, version: int) -> dict[str, Any]:
        with self.lock:
            self._catch_up()
            account = self._account(key)
            unrealized = sum((self._unrealized(s, p) for s, p in account.positions.items()), ZERO)
            position_margin = self._position_margin(account)
            order_margin = self._order_margin(account)
            available = self._available(account)
            assets = []
            for asset, wallet in sorted(account.balances.items()):
                upnl = unrealized if asset == "USDT" else ZERO
                assets.append({
                    "asset": asset,
                    "walletBalance": _money(wallet),
                    "unrealizedProfit": _money(upnl),
                    "marginBalance": _money(wallet + upnl),
                    "maintMargin": _money(position_margin * Decimal("0.1") if asset == "USDT" else ZERO),
                    "initialMargin": _money(position_margin + order_margin if asset == "USDT" else ZERO),
                    "positionInitialMargin": _money(position_margin if asset == "USDT" else ZERO),
                    "openOrderInitialMargin": _money(order_margin if asset == "USDT" else ZERO),
                    "crossWalletBalance": _money(wallet),
                    "crossUnPnl": _money(upnl),
                    "availableBalance": _money(available if asset == "USDT" else wallet),
                    "maxWithdrawAmount": _money(max(available, ZERO) if asset == "USDT" else wallet),
                    "marginAvailable": True,
                    "updateTime": now_ms(),
                })
            wallet = account.balances.get("USDT", ZERO)
            result: dict[str, Any] = {
                "totalInitialMargin": _money(position_margin + order_margin),
                "totalMaintMargin": _money(position_margin * Decimal("0.1")),
                "totalWalletBalance": _money(wallet),
                "totalUnrealizedProfit": _money(unrealized),
                "totalMarginBalance": _money(wallet + unrealized),
                "totalPositionInitialMargin": _money(position_margin),
                "totalOpenOrderInitialMargin": _money(order_margin),
                "totalCrossWalletBalance": _money(wallet),
                "totalCrossUnPnl": _money(unrealized),
                "availableBalance": _money(available),
                "maxWithdrawAmount": _money(max(available, ZERO)),
                "assets": assets,
                "positions": [self._position_row(account, s, p, version)
                              for s, p in account.positions.items() if p.amount or version == 2],
            }
            if version == 2:
                result.update({"feeTier": 0, "canTrade": key.enable_futures, "canDeposit": True,
                               "canWithdraw": key.enable_withdrawals, "updateTime": 0, "multiAssetsMargin": False,
                               "tradeGroupId": -1})
            return result

    def balances(self, key: ApiKey) -> list[dict[str, Any]]:
        info = self.account_info(key, 3)
        return [
            {"accountAlias": "SgsR", "asset": a["asset"], "balance": a["walletBalance"],
             "crossWalletBalance": a["crossWalletBalance"], "crossUnPnl": a["crossUnPnl"],
             "availableBalance": a["availableBalance"], "maxWithdrawAmount": a["maxWithdrawAmount"],
             "marginAvailable": True, "updateTime": a["updateTime"]}
            for a in info["assets"]
        ]

    def _position_row(self, account: Account, symbol: str, position: PositionState, version: int) -> dict[str, Any]:
        instrument = self.instruments[symbol]
        mark = self.feed.price(symbol)
        leverage = self._leverage(account, symbol)
        notional = position.amount * mark
        initial = abs(notional) / leverage
        row: dict[str, Any] = {
            "symbol": symbol,
            "positionSide": "BOTH",
            "positionAmt": format(position.amount, "f"),
            "entryPrice": format(position.entry_price.quantize(Decimal("0.00000001")).normalize(), "f")
            if position.amount else "0.0",
            "breakEvenPrice": format(position.entry_price.quantize(Decimal("0.00000001")).normalize(), "f")
            if position.amount else "0.0",
            "markPrice": format(mark, "f"),
            "unRealizedProfit": _money(self._unrealized(symbol, position)),
            "liquidationPrice": "0",
            "isolatedMargin": "0",
            "notional": _money(notional),
            "isolatedWallet": "0",
            "updateTime": position.update_ms,
            "initialMargin": _money(initial),
            "maintMargin": _money(abs(notional) * Decimal(str(instrument.brackets[0]["maintMarginRatio"]))),
            "positionInitialMargin": _money(initial),
            "openOrderInitialMargin": "0",
            "adl": 1 if position.amount else 0,
            "bidNotional": "0",
            "askNotional": "0",
            "marginAsset": "USDT",
        }
        if version == 2:
            row.update({"leverage": str(leverage), "marginType": "cross", "isAutoAddMargin": "false",
                        "maxNotionalValue": str(instrument.max_notional_for_leverage(leverage))})
        return row

    def position_risk(self, key: ApiKey, symbol: str | None, version: int) -> list[dict[str, Any]]:
        with self.lock:
            self._catch_up()
            account = self._account(key)
            symbols = [self._instrument(symbol).symbol] if symbol else list(self.instruments)
            rows = []
            for s in symbols:
                position = account.positions.get(s, PositionState())
                if version == 3 and not position.amount:
                    continue  # v3 returns only symbols with a position or open orders
                rows.append(self._position_row(account, s, position, version))
            return rows

    def leverage_brackets(self, symbol: str | None) -> list[dict[str, Any]]:
        symbols = [self._instrument(symbol).symbol] if symbol else list(self.instruments)
        return [{"symbol": s, "notionalCoef": 1.0, "brackets": self.instruments[s].brackets} for s in symbols]

    def set_leverage(self, key: ApiKey, symbol: str | None, leverage: str | None) -> dict[str, Any]:
        with self.lock:
            instrument = self._instrument(symbol)
            if not leverage:
                raise mandatory("leverage")
            try:
                value = int(leverage)
            except ValueError:
                raise EmulatorError(-1130, "Data sent for parameter 'leverage' is not valid.") from None
            if value < 1 or value > instrument.max_leverage:
                raise EmulatorError(-4028, f"Leverage {value} is not valid")
            self._account(key).leverage[instrument.symbol] = value
            return {"leverage": value, "maxNotionalValue": str(instrument.max_notional_for_leverage(value)),
                    "symbol": instrument.symbol}

    # ---------------------------------------------------------------- orders
    def _check_order_rate(self, account: Account) -> None:
        now = time.monotonic() * 1000
        for window, limit, label in ORDER_LIMITS:
            recent = sum(1 for t in account.order_times if now - t < window)
            if recent >= limit:
                raise EmulatorError(-1015, f"Too many new orders; current limit is {limit} orders per {label}.", 429)
        account.order_times.append(now)

    def place_order(self, key: ApiKey, params: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            self._catch_up()
            account = self._account(key)
            instrument = self._instrument(params.get("symbol"))
            order = self._validate_new_order(account, instrument, params)
            self._check_order_rate(account)
            self._check_margin(account, instrument, order)
            self.orders[order.order_id] = order
            self._by_client[(account.name, order.client_order_id)] = order
            self._next_order_id += 1
            self._execute_on_arrival(account, instrument, order)
            return order.to_api(instrument)

    def _validate_new_order(self, account: Account, instrument: Instrument, params: dict[str, str]) -> Order:
        side = (params.get("side") or "").upper()
        if side not in ("BUY", "SELL"):
            raise mandatory("side") if not side else EmulatorError(-1117, "Invalid side.")
        order_type = (params.get("type") or "").upper()
        if order_type not in ("MARKET", "LIMIT"):
            raise mandatory("type") if not order_type else EmulatorError(-1116, "Invalid orderType.")
        if params.get("positionSide", "BOTH") != "BOTH":
            raise EmulatorError(-4061, "Order's position side does not match user's setting.")
        qty = _quantity(params, instrument, order_type)
        price, tif = _limit_terms(params, instrument) if order_type == "LIMIT" else (ZERO, "GTC")
        reduce_only = params.get("reduceOnly", "false").lower() == "true"
        reference = price if order_type == "LIMIT" else self.feed.price(instrument.symbol)
        if not reduce_only and qty * reference < instrument.min_notional:
            raise EmulatorError(-4164, f"Order's notional must be no smaller than {instrument.min_notional} "
                                       "(unless you choose reduce only).")
        client_id = params.get("newClientOrderId") or f"emu{secrets.token_hex(10)}"
        if not CLIENT_ORDER_ID_RE.match(client_id):
            raise EmulatorError(
                -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is "
                       "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'."
            )
        if (account.name, client_id) in self._by_client:
            raise EmulatorError(-4116, "ClientOrderId is duplicated.")
        if reduce_only:
            position = account.positions.get(instrument.symbol, PositionState())
            direction = 1 if side == "BUY" else -1
            if position.amount * direction >= 0 or qty > abs(position.amount):
                raise EmulatorError(-2022, "ReduceOnly Order is rejected.")
        return Order(
            order_id=self._next_order_id, client_order_id=client_id, account=account.name, symbol=instrument.symbol,
            side=side, type=order_type, time_in_force=tif, qty=qty, price=price, reduce_only=reduce_only,
        )

    def _increasing_qty(self, account: Account, order: Order) -> Decimal:
        position = account.positions.get(order.symbol, PositionState())
        direction = 1 if order.side == "BUY" else -1
        if position.amount * direction >= 0:
            return order.qty
        return max(ZERO, order.qty - abs(position.amount))

    def _check_margin(self, account: Account, instrument: Instrument, order: Order) -> None:
        if order.reduce_only:
            return
        reference = order.price if order.type == "LIMIT" else self.feed.price(instrument.symbol)
        required = self._increasing_qty(account, order) * reference / self._leverage(account, instrument.symbol)
        required += order.qty * reference * TAKER_FEE
        if required > self._available(account):
            raise EmulatorError(-2019, "Margin is insufficient.")
        if order.type == "LIMIT":
            order.margin = required

    def _execute_on_arrival(self, account: Account, instrument: Instrument, order: Order) -> None:
        bid, ask = self.book_top(instrument.symbol)
        if order.type == "MARKET":
            self._fill(account, order, ask if order.side == "BUY" else bid, maker=False)
            return
        marketable = order.price >= ask if order.side == "BUY" else order.price <= bid
        if marketable:
            if order.time_in_force == "GTX":
                order.status = "EXPIRED"
                order.margin = ZERO
                return
            self._fill(account, order, ask if order.side == "BUY" else bid, maker=False)
        elif order.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"
            order.margin = ZERO

    def _fill(self, account: Account, order: Order, price: Decimal, *, maker: bool) -> None:
        position = account.positions.setdefault(order.symbol, PositionState())
        qty = order.qty
        signed = qty if order.side == "BUY" else -qty
        realized = ZERO
        if position.amount == 0 or (position.amount > 0) == (signed > 0):
            total = abs(position.amount) + qty
            position.entry_price = (abs(position.amount) * position.entry_price + qty * price) / total
            position.amount += signed
        else:
            closing = min(qty, abs(position.amount))
            realized = closing * (price - position.entry_price) * (1 if position.amount > 0 else -1)
            position.amount += signed
            if position.amount == 0:
                position.entry_price = ZERO
            elif (position.amount > 0) == (signed > 0):  # flipped: the rest opens at the fill price
                position.entry_price = price
        stamp = now_ms()
        position.update_ms = stamp
        commission = (qty * price * (MAKER_FEE if maker else TAKER_FEE)).quantize(Decimal("0.00000001"))
        account.balances["USDT"] = account.balances.get("USDT", ZERO) + realized - commission
        order.status = "FILLED"
        order.executed_qty = qty
        order.cum_quote = qty * price
        order.avg_price = price
        order.commission = commission
        order.margin = ZERO
        order.update_ms = stamp
        self.fills.append(Fill(self._next_trade_id, order, price, qty, commission, realized, maker, stamp))
        self._next_trade_id += 1

    def _find(self, account: Account, params: dict[str, str]) -> Order:
        instrument = self._instrument(params.get("symbol"))
        order: Order | None = None
        if params.get("orderId"):
            try:
                order = self.orders.get(int(params["orderId"]))
            except ValueError:
                raise EmulatorError(-1130, "Data sent for parameter 'orderId' is not valid.") from None
        elif params.get("origClientOrderId"):
            order = self._by_client.get((account.name, params["origClientOrderId"]))
        else:
            raise EmulatorError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        if order is None or order.account != account.name or order.symbol != instrument.symbol:
            raise EmulatorError(-2013, "Order does not exist.")
        return order

    def get_order(self, key: ApiKey, params: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            self._catch_up()
            order = self._find(self._account(key), params)
            return order.to_api(self.instruments[order.symbol])

    def cancel_order(self, key: ApiKey, params: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            self._catch_up()
            account = self._account(key)
            try:
                order = self._find(account, params)
            except EmulatorError as error:
                if error.code == -2013:
                    raise EmulatorError(-2011, "Unknown order sent.") from None
                raise
            if order.status in FINAL_STATUSES:
                raise EmulatorError(-2011, "Unknown order sent.")
            order.status = "CANCELED"
            order.margin = ZERO
            order.update_ms = now_ms()
            return order.to_api(self.instruments[order.symbol])

    def open_orders(self, key: ApiKey, symbol: str | None) -> list[dict[str, Any]]:
        with self.lock:
            self._catch_up()
            account = self._account(key)
            wanted = self._instrument(symbol).symbol if symbol else None
            return [o.to_api(self.instruments[o.symbol]) for o in self.orders.values()
                    if o.account == account.name and o.status == "NEW" and (wanted is None or o.symbol == wanted)]

    def all_orders(self, key: ApiKey, symbol: str | None, limit: int = 500) -> list[dict[str, Any]]:
        with self.lock:
            self._catch_up()
            account = self._account(key)
            wanted = self._instrument(symbol).symbol
            rows = [o for o in self.orders.values() if o.account == account.name and o.symbol == wanted]
            return [o.to_api(self.instruments[o.symbol]) for o in rows[-limit:]]

    def user_trades(self, key: ApiKey, params: dict[str, str]) -> list[dict[str, Any]]:
        with self.lock:
            self._catch_up()
            account = self._account(key)
            wanted = self._instrument(params.get("symbol")).symbol
            order_id = int(params["orderId"]) if params.get("orderId") else None
            rows = []
            for fill in self.fills:
                order = fill.order
                if order.account != account.name or order.symbol != wanted:
                    continue
                if order_id is not None and order.order_id != order_id:
                    continue
                rows.append({
                    "buyer": order.side == "BUY", "commission": format(fill.commission, "f"),
                    "commissionAsset": "USDT", "id": fill.trade_id, "maker": fill.maker, "orderId": order.order_id,
                    "price": format(fill.price, "f"), "qty": format(fill.qty, "f"),
                    "quoteQty": format(fill.price * fill.qty, "f"), "realizedPnl": _money(fill.realized_pnl),
                    "side": order.side, "positionSide": "BOTH", "symbol": order.symbol, "time": fill.time_ms,
                })
            return rows[-int(params.get("limit", 500)):]

    # ---------------------------------------------------------------- matching of resting orders
    def _catch_up(self) -> None:
        """Match resting limit orders against every bar completed since the last call."""
        cursor = self.clock.cursor
        for index in range(self._matched_through + 1, cursor):
            for symbol in {o.symbol for o in self.orders.values() if o.status == "NEW"}:
                self._match_bar(symbol, self.feed.bar(symbol, index))
        self._matched_through = max(self._matched_through, cursor - 1)
        self._match_forming()

    def _match_forming(self) -> None:
        for symbol in {o.symbol for o in self.orders.values() if o.status == "NEW"}:
            self._match_bar(symbol, self.feed.forming_bar(symbol))

    def _match_bar(self, symbol: str, bar: Bar) -> None:
        for order in list(self.orders.values()):
            if order.status != "NEW" or order.symbol != symbol:
                continue
            crossed = (order.side == "BUY" and Decimal(str(bar.low)) <= order.price) or (
                order.side == "SELL" and Decimal(str(bar.high)) >= order.price
            )
            if crossed:
                self._fill(self.accounts[order.account], order, order.price, maker=True)


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.00000001")), "f")


def _quantity(params: dict[str, str], instrument: Instrument, order_type: str) -> Decimal:
    qty = _decimal_param(params, "quantity")
    if qty <= 0:
        raise EmulatorError(-4003, "Quantity less than or equal to zero.")
    if qty % instrument.step_size:
        raise EmulatorError(-1111, "Precision is over the maximum defined for this asset.")
    max_qty = instrument.market_max_qty if order_type == "MARKET" else instrument.max_qty
    if qty > max_qty:
        raise EmulatorError(-4005, "Quantity greater than max quantity.")
    if qty < instrument.min_qty:
        raise EmulatorError(-4004, "Quantity less than min quantity.")
    return qty


def _limit_terms(params: dict[str, str], instrument: Instrument) -> tuple[Decimal, str]:
    price = _decimal_param(params, "price")
    if price <= 0:
        raise EmulatorError(-4001, "Price less than 0.")
    if price % instrument.tick_size:
        raise EmulatorError(-4014, "Price not increased by tick size.")
    if "timeInForce" not in params:
        raise mandatory("timeInForce")
    tif = params["timeInForce"].upper()
    if tif not in ("GTC", "IOC", "FOK", "GTX"):
        raise EmulatorError(-1115, "Invalid timeInForce.")
    return price, tif


def _decimal_param(params: dict[str, str], name: str) -> Decimal:
    raw = params.get(name)
    if raw in (None, ""):
        raise mandatory(name)
    try:
        return Decimal(raw)
    except ArithmeticError:
        raise EmulatorError(-1130, f"Data sent for parameter '{name}' is not valid.") from None
