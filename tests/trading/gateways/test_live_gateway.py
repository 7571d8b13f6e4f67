"""The live gateway drives an unmodified ccxt binanceusdm against the exchange emulator."""

from __future__ import annotations

import asyncio
import io
import logging
from decimal import Decimal

import pytest

from core.log_redaction import RedactSecretsFilter
from emulators.exchange import EmulatorServer
from emulators.exchange.testing import EmulatorAccount
from exchanges.credentials import Credentials
from trading.gateways import errors as gw
from trading.gateways.base import ExchangeGateway, OrderRequest
from trading.gateways.live import LiveGateway
from trading.gateways.pool import LiveGatewayPool
from trading.gateways.ratelimit import SlidingWindow

pytestmark = pytest.mark.usefixtures("exchange_api_base")


def credentials(account: EmulatorAccount, **changes: str) -> Credentials:
    values = {"exchange": "binanceusdm", "api_key": account.api_key, "api_secret": account.secret, **changes}
    return Credentials(**values)


def with_gateway(account: EmulatorAccount, body, **changes: str):  # noqa: ANN001, ANN201
    async def run():  # noqa: ANN202
        async with LiveGatewayPool() as pool:
            gateway = await pool.gateway_for_credentials(credentials(account, **changes))
            return await body(gateway)

    return asyncio.run(run())


def order(cid: str, amount: str = "0.01", **fields: object) -> OrderRequest:
    return OrderRequest(client_order_id=cid, symbol="BTC/USDT", side=fields.pop("side", "buy"),
                        type=fields.pop("type", "market"), amount=Decimal(amount), **fields)


def test_gateway_implements_the_interface_and_reads_market_data(exchange_account: EmulatorAccount) -> None:
    async def body(gateway: LiveGateway):  # noqa: ANN202
        assert isinstance(gateway, ExchangeGateway)
        markets = await gateway.load_markets()
        ticker = await gateway.fetch_ticker("BTC/USDT")
        book = await gateway.fetch_order_book("ETH/USDT:USDT", 5)
        candles = await gateway.fetch_ohlcv("BTCUSDT", "1h", limit=3)
        return markets, ticker, book, candles

    markets, ticker, book, candles = with_gateway(exchange_account, body)
    btc = markets["BTC/USDT:USDT"]
    assert (btc.exchange_symbol, btc.price_step, btc.amount_step, btc.min_notional) == (
        "BTCUSDT", Decimal("0.1"), Decimal("0.001"), Decimal("100"))
    assert {"ETH/USDT:USDT", "SOL/USDT:USDT"} <= set(markets)
    assert isinstance(ticker.last, Decimal) and ticker.last > 0
    assert book.bids[0][0] < book.asks[0][0] and len(book.asks) == 5
    assert len(candles) == 3


def test_orders_positions_balance_and_leverage_round_trip(exchange_account: EmulatorAccount) -> None:
    async def body(gateway: LiveGateway):  # noqa: ANN202
        await gateway.set_leverage("BTC/USDT", 5)
        filled = await gateway.create_order(order("rt-1", "0.02"))
        resting = await gateway.create_order(order("rt-2", side="sell", type="limit", price=Decimal("99999.9")))
        by_cid = await gateway.fetch_order("BTC/USDT", client_order_id="rt-1")
        by_id = await gateway.fetch_order("BTC/USDT", exchange_order_id=resting.exchange_order_id)
        open_orders = await gateway.fetch_open_orders()
        canceled = await gateway.cancel_order("BTC/USDT", client_order_id="rt-2")
        positions = await gateway.fetch_positions()
        balance = await gateway.fetch_balance()
        fee = await gateway.fetch_order_fee("BTC/USDT", filled.exchange_order_id)
        return filled, resting, by_cid, by_id, open_orders, canceled, positions, balance, fee

    filled, resting, by_cid, by_id, open_orders, canceled, positions, balance, fee = with_gateway(
        exchange_account, body)
    assert (filled.status, filled.filled, filled.client_order_id) == ("closed", Decimal("0.02"), "rt-1")
    assert filled.average and filled.cost == pytest.approx(filled.average * Decimal("0.02"))
    assert resting.status == "open" and resting.price == Decimal("99999.9")
    assert by_cid.exchange_order_id == filled.exchange_order_id and by_id.client_order_id == "rt-2"
    assert [o.client_order_id for o in open_orders] == ["rt-2"]
    assert canceled.status == "canceled"
    [position] = positions
    assert (position.side, position.amount, position.leverage) == ("long", Decimal("0.02"), 5)
    assert balance["USDT"].total < Decimal(10000)
    assert fee == (pytest.approx(Decimal("0.02") * filled.average * Decimal("0.0005"), abs=Decimal("1e-6")), "USDT")


def _error_setup(emulator: EmulatorServer, setup: str) -> tuple[dict[str, str], str, str]:
    """(credential changes, amount, symbol) for one error case; faults are injected into the emulator."""
    special: dict[str, tuple[dict[str, str], str, str]] = {
        "wrong_secret": ({"api_secret": "0" * 64}, "0.01", "BTC/USDT"),
        "unknown_key": ({"api_key": "f" * 64}, "0.01", "BTC/USDT"),
        "too_big": ({}, "100", "BTC/USDT"),
        "tiny": ({}, "0.001", "BTC/USDT"),
        "unknown_symbol": ({}, "0.01", "NOPE/USDT"),
        "duplicate": ({}, "0.01", "BTC/USDT"),
    }
    if setup in special:
        return special[setup]
    if setup == "drop":  # aiohttp retries a GET once on a reused connection: drop every time
        emulator.control.add_fault("drop", path="/fapi/v3/account")
    elif setup == "server_error":
        emulator.control.add_fault("server_error", path="/fapi/v3/account", times=1)
    else:
        emulator.control.add_fault(setup, times=1)
    return {}, "0.01", "BTC/USDT"


@pytest.mark.parametrize(
    ("setup", "call", "expected", "phrase"),
    [
        ("wrong_secret", "balance", gw.AuthenticationFailed, "secret does not match"),
        ("unknown_key", "balance", gw.AuthenticationFailed, "IP addresses"),
        ("ip_restricted", "balance", gw.AuthenticationFailed, "IP addresses"),
        ("insufficient_margin", "create", gw.InsufficientFunds, "margin"),
        ("too_big", "create", gw.InsufficientFunds, "margin"),
        ("order_not_found", "fetch", gw.OrderNotFound, "does not know"),
        ("rate_limit", "balance", gw.RateLimited, "slow down"),
        ("tiny", "create", gw.InvalidOrder, "minimum order value"),
        ("duplicate", "create", gw.DuplicateClientOrderId, "already has an order"),
        ("unknown_symbol", "ticker", gw.UnknownSymbol, "does not list"),
        ("server_error", "balance", gw.TemporaryGatewayError, "not reachable"),
        ("drop", "balance", gw.TemporaryGatewayError, "not reachable"),
    ],
)
def test_exchange_errors_map_to_our_taxonomy_with_user_messages(
    exchange_account: EmulatorAccount, exchange_emulator: EmulatorServer, setup: str, call: str,
    expected: type[gw.GatewayError], phrase: str,
) -> None:
    changes, amount, symbol = _error_setup(exchange_emulator, setup)

    async def body(gateway: LiveGateway):  # noqa: ANN202
        await gateway.load_markets()
        if setup == "duplicate":
            await gateway.create_order(order("dup", amount))
        if call == "balance":
            return await gateway.fetch_balance()
        if call == "create":
            return await gateway.create_order(order("dup" if setup == "duplicate" else "c-1", amount))
        if call == "fetch":
            return await gateway.fetch_order(symbol, client_order_id="c-1")
        return await gateway.fetch_ticker(symbol)

    with pytest.raises(expected) as info:
        with_gateway(exchange_account, body, **changes)
    assert phrase in info.value.user_message
    if setup == "rate_limit":
        assert info.value.retry_after == 1.0
    for secret in (exchange_account.secret, exchange_account.api_key, "signature="):
        assert secret not in str(info.value) and secret not in info.value.user_message


@pytest.mark.parametrize("fault", [{"kind": "drop", "when": "after"}, {"kind": "server_error", "when": "after"},
                                   {"kind": "latency", "latency_ms": 400}])
def test_create_order_with_an_unknown_outcome_raises_order_result_unknown(
    exchange_account: EmulatorAccount, exchange_emulator: EmulatorServer, fault: dict
) -> None:
    exchange_emulator.control.add_fault(path="/fapi/v1/order", method="POST", times=1, **fault)

    async def body():  # noqa: ANN202
        async with LiveGatewayPool(timeout_ms=200) as pool:
            gateway = await pool.gateway_for_credentials(credentials(exchange_account))
            with pytest.raises(gw.OrderResultUnknown):
                await gateway.create_order(order("maybe-1"))
            return await gateway.fetch_order("BTC/USDT", client_order_id="maybe-1")

    # In every case the order did reach the exchange; only asking by client order id tells.
    assert asyncio.run(body()).status == "closed"


def test_pool_reuses_one_client_per_account_and_loads_markets_once(
    exchange_emulator: EmulatorServer, django_user_model
) -> None:
    from exchanges.models import ExchangeSetting
    from tests.factories import UserFactory

    user = UserFactory()
    settings_rows = []
    for n in range(2):
        key = exchange_emulator.exchange.create_key()
        from core.crypto import encrypt_text

        settings_rows.append(ExchangeSetting.objects.create(
            user=user, name=f"k{n}", exchange="binanceusdm", api_key_encrypted=encrypt_text(key.key),
            api_secret_encrypted=encrypt_text(key.secret), api_key_hint="x"))

    async def body():  # noqa: ANN202
        async with LiveGatewayPool() as pool:
            first = await pool.gateway(settings_rows[0])
            for _ in range(3):
                assert await pool.gateway(settings_rows[0]) is first
                await first.fetch_balance()
            second = await pool.gateway(settings_rows[1])
            await second.fetch_balance()
            created_before_rotation = pool.clients_created
            settings_rows[0].key_version += 1
            replaced = await pool.gateway(settings_rows[0])
            return first, second, replaced, created_before_rotation, pool.clients_created, len(pool)

    first, second, replaced, created_before, created_after, size = asyncio.run(body())
    assert first is not second and replaced is not first
    assert (created_before, created_after, size) == (2, 3, 2)
    assert first.client.session is None or first.client.session.closed  # the stale version was closed
    assert len(exchange_emulator.exchange.requests(path="/fapi/v1/exchangeInfo")) == 1


def test_burst_limiter_replaces_ccxt_throttle_and_counts_orders(exchange_account: EmulatorAccount) -> None:
    async def body():  # noqa: ANN202
        async with LiveGatewayPool() as pool:
            gateway = await pool.gateway_for_credentials(credentials(exchange_account), rate_limiter="burst")
            assert gateway.client.throttle == gateway.limiter.throttle
            await asyncio.gather(*(gateway.create_order(order(f"b-{i}")) for i in range(2)))
            return gateway.limiter

    limiter = asyncio.run(body())
    assert [w.used for w in limiter.orders] == [2, 2]


def test_sliding_window_lets_a_burst_through_then_waits_for_the_oldest() -> None:
    window = SlidingWindow(limit=300, window=10)
    assert all(window.try_acquire(1, now=100.0) == 0 for _ in range(300))
    assert window.try_acquire(1, now=101.0) == pytest.approx(9.0)
    assert window.try_acquire(1, now=110.0) == 0  # the first burst left the window


def test_ccxt_debug_logging_and_errors_never_show_key_secret_or_signature(exchange_account: EmulatorAccount) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    ccxt_logger = logging.getLogger("ccxt.base.exchange")
    ccxt_logger.addHandler(handler)
    previous = ccxt_logger.level
    ccxt_logger.setLevel(logging.DEBUG)
    try:
        async def body(gateway: LiveGateway):  # noqa: ANN202
            assert gateway.client.verbose is False
            await gateway.fetch_balance()
            await gateway.create_order(order("log-1"))
            with pytest.raises(gw.InvalidOrder) as info:
                await gateway.create_order(order("log-2", "0.001"))
            return str(info.value)

        error_text = with_gateway(exchange_account, body)
    finally:
        ccxt_logger.removeHandler(handler)
        ccxt_logger.setLevel(previous)
    output = stream.getvalue()
    assert "fapi/v1/order" in output  # the debug lines were really written
    for text in (output, error_text):
        assert exchange_account.api_key not in text and exchange_account.secret not in text
        assert "signature=" not in text or "signature=[redacted]" in text
    assert "Credentials(" in repr(credentials(exchange_account)) and exchange_account.secret not in repr(
        credentials(exchange_account))


@pytest.mark.parametrize("request_fields", [
    {"side": "buy", "type": "market"},
    {"side": "sell", "type": "market", "reduce_only": True},
    {"side": "sell", "type": "limit", "price": Decimal("60000.1")},
    {"side": "buy", "type": "limit", "price": Decimal("59999.97"), "reduce_only": True},
    {"side": "buy", "type": "market", "amount": "0.0125"},
])
def test_plain_usdm_orders_skip_ccxt_create_order_but_send_exactly_its_request(
        exchange_account: EmulatorAccount, request_fields: dict) -> None:
    """The lean path (`fapiPrivatePostOrder` + `parse_order`) signs the very request ccxt's generic
    `create_order` signs for the same order; only timestamp and signature differ."""
    fields = dict(request_fields)
    request = order("lean-1", str(fields.pop("amount", "0.01")), **fields)

    async def body(gateway: LiveGateway) -> tuple[list, list]:
        await gateway.load_markets()
        sent: list[list[tuple[str, str]]] = []

        async def capture(url, method="GET", headers=None, body=None):  # noqa: ANN001, ANN202
            from urllib.parse import parse_qsl
            sent.append([(k, v) for k, v in parse_qsl(body or url.split("?", 1)[1])
                         if k not in ("timestamp", "signature")])
            raise asyncio.CancelledError

        original, gateway.client.fetch = gateway.client.fetch, capture
        try:
            symbol = await gateway._unified(request.symbol)
            with pytest.raises(asyncio.CancelledError):
                await gateway.create_order(request)
            params = {"newClientOrderId": request.client_order_id, **({"reduceOnly": True} if request.reduce_only
                                                                        else {}),
                      **({"timeInForce": "GTC"} if request.type == "limit" else {})}
            with pytest.raises(asyncio.CancelledError):
                await gateway.client.create_order(symbol, request.type, request.side, float(request.amount),
                                                  float(request.price) if request.price else None, params)
        finally:
            gateway.client.fetch = original
        return sent[0], sent[1]

    lean, generic = with_gateway(exchange_account, body)
    assert lean == generic


def test_lean_order_path_places_and_parses_like_ccxt(exchange_account: EmulatorAccount) -> None:
    async def body(gateway: LiveGateway):  # noqa: ANN202
        placed = await gateway.create_order(order("lean-2", side="sell", type="limit", price=Decimal("90000")))
        fetched = await gateway.fetch_order("BTC/USDT", client_order_id="lean-2")
        return placed, fetched

    placed, fetched = with_gateway(exchange_account, body)
    assert placed.client_order_id == "lean-2" and placed.exchange_order_id
    assert placed.status == fetched.status == "open" and placed.price == Decimal("90000")
    assert placed.amount == fetched.amount == Decimal("0.01")


def _capturing(gateway: LiveGateway) -> list[dict[str, str]]:
    """Record the parameters of every request the client sends (and still send it)."""
    from urllib.parse import parse_qsl

    sent: list[dict[str, str]] = []
    original = gateway.client.fetch

    async def fetch(url, method="GET", headers=None, body=None):  # noqa: ANN001, ANN202
        if "/order" in url and method == "POST":
            sent.append(dict(parse_qsl(body or url.split("?", 1)[1])))
        return await original(url, method, headers, body)

    gateway.client.fetch = fetch
    return sent


def test_an_order_signed_ahead_is_sent_as_signed_then_and_parsed_like_any(exchange_account: EmulatorAccount) -> None:
    request = order("ahead-1", side="sell", type="limit", price=Decimal("90000"))

    async def body(gateway: LiveGateway):  # noqa: ANN202
        await gateway.load_markets()
        sent = _capturing(gateway)
        assert gateway.sign_ahead(request)
        assert exchange_account.api_key not in repr(gateway)  # the signed request carries the key header
        assert exchange_account.api_key not in repr(gateway.signed_ahead)
        signed_at = int(gateway.signed_ahead["ahead-1"].signed["body"].split("timestamp=")[1].split("&")[0])
        await asyncio.sleep(0.05)
        placed = await gateway.create_order(request)
        fresh = await gateway.create_order(order("ahead-2", side="sell", type="limit", price=Decimal("90000")))
        return signed_at, sent, placed, fresh

    signed_at, sent, placed, fresh = with_gateway(exchange_account, body)
    ahead, plain = sent
    assert int(ahead["timestamp"]) == signed_at  # the request signed before, unchanged
    assert int(plain["timestamp"]) > signed_at
    drop = ("timestamp", "signature", "newClientOrderId")
    assert {k: v for k, v in ahead.items() if k not in drop} == {k: v for k, v in plain.items() if k not in drop}
    assert placed.client_order_id == "ahead-1" and placed.status == "open" and placed.price == Decimal("90000")
    assert (placed.amount, placed.side, placed.type) == (fresh.amount, fresh.side, fresh.type)


def test_a_changed_or_old_request_is_signed_again_at_sending(exchange_account: EmulatorAccount, monkeypatch) -> None:  # noqa: ANN001
    from trading.gateways import live

    async def body(gateway: LiveGateway):  # noqa: ANN202
        await gateway.load_markets()
        sent = _capturing(gateway)
        assert gateway.sign_ahead(order("ahead-3", side="sell", type="limit", price=Decimal("90000")))
        await gateway.create_order(order("ahead-3", side="sell", type="limit", price=Decimal("91000")))  # moved
        assert gateway.sign_ahead(order("ahead-4"))
        monkeypatch.setattr(live, "SIGNED_AHEAD_MAX_AGE_SECONDS", 0.0)  # as if it had waited too long
        await gateway.create_order(order("ahead-4"))
        return sent, dict(gateway.signed_ahead)

    sent, left = with_gateway(exchange_account, body)
    assert sent[0]["price"] == "91000" and sent[0]["newClientOrderId"] == "ahead-3"
    assert sent[1]["newClientOrderId"] == "ahead-4"
    assert left == {}  # nothing signed ahead is kept once used or refused


def test_only_plain_usdm_orders_of_known_markets_are_signed_ahead(exchange_account: EmulatorAccount) -> None:
    async def body(gateway: LiveGateway):  # noqa: ANN202
        await gateway.load_markets()
        stop = gateway.sign_ahead(order("ahead-6", type="stop_market", price=Decimal("50000")))
        unknown = gateway.sign_ahead(OrderRequest(client_order_id="ahead-7", symbol="NOPE/USDT", side="buy",
                                                  type="market", amount=Decimal("1")))
        return stop, unknown, dict(gateway.signed_ahead)

    assert with_gateway(exchange_account, body) == (False, False, {})
