"""The exchange emulator speaks enough Binance USDⓈ-M for an unmodified ccxt `binanceusdm`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

import aiohttp
import ccxt.async_support as ccxt_async
import pytest

from emulators.exchange import EmulatorControl, EmulatorProcess, EmulatorServer, Exchange
from emulators.exchange.testing import EmulatorAccount, ccxt_binanceusdm

BTC = "BTC/USDT:USDT"
REPO_ROOT = Path(__file__).resolve().parents[2]


def run(coro):  # noqa: ANN001, ANN201 - tiny helper for async ccxt calls
    return asyncio.run(coro)


async def _with_client(account: EmulatorAccount, body):  # noqa: ANN001, ANN202
    client = ccxt_binanceusdm(account.base_url, account.api_key, account.secret)
    try:
        return await body(client)
    finally:
        await client.close()


async def _signed(base_url: str, method: str, path: str, params: dict, *, api_key: str, secret: str,
                  timestamp_ms: int | None = None) -> tuple[int, dict]:
    params = {**params, "timestamp": timestamp_ms or int(time.time() * 1000)}
    query = urllib.parse.urlencode(params)
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    async with aiohttp.ClientSession() as session:
        headers = {"X-MBX-APIKEY": api_key} if api_key else {}
        async with session.request(method, f"{base_url}{path}?{query}&signature={signature}", headers=headers) as r:
            return r.status, await r.json()


def test_ccxt_loads_several_symbols_with_filters_and_market_data(exchange_account: EmulatorAccount) -> None:
    async def body(client):  # noqa: ANN001, ANN202
        markets = await client.load_markets()
        ticker = await client.fetch_ticker(BTC)
        book = await client.fetch_order_book(BTC, 5)
        candles = await client.fetch_ohlcv("ETH/USDT:USDT", "5m", limit=10)
        return markets, ticker, book, candles

    markets, ticker, book, candles = run(_with_client(exchange_account, body))
    assert {BTC, "ETH/USDT:USDT", "SOL/USDT:USDT"} <= set(markets)
    btc = markets[BTC]
    assert btc["precision"]["price"] == 0.1 and btc["precision"]["amount"] == 0.001
    assert btc["limits"]["cost"]["min"] == 100 and btc["linear"] and btc["swap"]
    assert ticker["last"] > 0 and book["bids"][0][0] < book["asks"][0][0]
    assert len(candles) == 10
    assert all(c[0] % 300_000 == 0 and c[3] <= min(c[1], c[4]) <= max(c[1], c[4]) <= c[2] for c in candles)
    assert [b[0] - a[0] for a, b in zip(candles, candles[1:], strict=False)] == [300_000] * 9


def test_market_order_fills_and_updates_position_and_balance(exchange_account: EmulatorAccount,
                                                           exchange_emulator: EmulatorServer) -> None:
    price = exchange_emulator.exchange.price("BTCUSDT")

    async def body(client):  # noqa: ANN001, ANN202
        await client.set_leverage(10, BTC)
        order = await client.create_order(BTC, "market", "buy", 0.05, params={"newClientOrderId": "t-1"})
        positions = await client.fetch_positions()
        balance = await client.fetch_balance()
        return order, positions, balance

    order, positions, balance = run(_with_client(exchange_account, body))
    assert order["status"] == "closed" and order["filled"] == 0.05 and order["clientOrderId"] == "t-1"
    assert Decimal(str(order["average"])) == price + Decimal("0.1")  # bought at the ask
    [position] = positions
    assert position["side"] == "long" and position["contracts"] == 0.05
    assert position["initialMarginPercentage"] == pytest.approx(0.1)
    fee = Decimal("0.05") * (price + Decimal("0.1")) * Decimal("0.0005")
    unrealized = Decimal("0.05") * Decimal("-0.1")  # marked at the mid, bought one tick above
    total = Decimal(str(balance["USDT"]["total"]))
    assert total == pytest.approx(Decimal(10000) - fee + unrealized, abs=Decimal("0.0001"))


def test_limit_order_rests_then_fills_when_a_later_bar_trades_through(exchange_account: EmulatorAccount,
                                                                      exchange_emulator: EmulatorServer) -> None:
    exchange = exchange_emulator.exchange
    price = exchange.price("BTCUSDT")
    limit = float(price - 500)

    async def place(client):  # noqa: ANN001, ANN202
        return await client.create_order(BTC, "limit", "buy", 0.01, limit, params={"newClientOrderId": "lim-1"})

    order = run(_with_client(exchange_account, place))
    assert order["status"] == "open"
    exchange.set_price("BTCUSDT", price - 1000)

    async def check(client):  # noqa: ANN001, ANN202
        return await client.fetch_order(None, BTC, params={"origClientOrderId": "lim-1"})

    filled = run(_with_client(exchange_account, check))
    assert filled["status"] == "closed" and filled["average"] == limit


def test_advance_moves_the_market_clock_and_replays_loaded_candles(exchange_emulator: EmulatorServer) -> None:
    exchange = exchange_emulator.exchange
    start = 1_700_000_000_000 // 60_000 * 60_000
    candles = [[start + i * 60_000, 100 + i, 101 + i, 99 + i, 100.5 + i, 10] for i in range(5)]
    exchange.load_candles("SOLUSDT", candles)
    assert exchange.price("SOLUSDT") == Decimal("100")  # the first bar has just opened
    exchange_emulator.control.advance(2)
    assert exchange.price("SOLUSDT") == Decimal("102")
    rows = exchange.klines("SOLUSDT", "1m", None, None, 10)
    assert [r[0] for r in rows] == [c[0] for c in candles[:3]]
    assert rows[0][1:5] == ["100.0000", "101.0000", "99.0000", "100.5000"]


def test_duplicate_client_order_id_is_rejected_like_binance(exchange_account: EmulatorAccount) -> None:
    async def body(client):  # noqa: ANN001, ANN202
        await client.create_order(BTC, "market", "buy", 0.01, params={"newClientOrderId": "dup-1"})
        with pytest.raises(ccxt_async.ExchangeError) as info:
            await client.create_order(BTC, "market", "buy", 0.01, params={"newClientOrderId": "dup-1"})
        return str(info.value)

    message = run(_with_client(exchange_account, body))
    assert '"code": -4116' in message and "ClientOrderId is duplicated." in message


def test_signed_requests_are_verified(exchange_account: EmulatorAccount) -> None:
    base, key, secret = exchange_account.base_url, exchange_account.api_key, exchange_account.secret

    async def body():  # noqa: ANN202
        ok = await _signed(base, "GET", "/fapi/v3/account", {}, api_key=key, secret=secret)
        bad_secret = await _signed(base, "GET", "/fapi/v3/account", {}, api_key=key, secret="wrong")
        unknown_key = await _signed(base, "GET", "/fapi/v3/account", {}, api_key="nope" * 10, secret=secret)
        no_key = await _signed(base, "GET", "/fapi/v3/account", {}, api_key="", secret=secret)
        stale = await _signed(base, "GET", "/fapi/v3/account", {"recvWindow": 5000}, api_key=key, secret=secret,
                              timestamp_ms=int(time.time() * 1000) - 60_000)
        return ok, bad_secret, unknown_key, no_key, stale

    ok, bad_secret, unknown_key, no_key, stale = run(body())
    assert ok[0] == 200 and ok[1]["availableBalance"]
    assert bad_secret == (400, {"code": -1022, "msg": "Signature for this request is not valid."})
    assert unknown_key == (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
    assert no_key[1]["code"] == -2014
    assert stale[1]["code"] == -1021


def test_api_restrictions_report_key_permissions(exchange_emulator: EmulatorServer) -> None:
    control = exchange_emulator.control
    reader = control.create_key(futures=False, withdrawals=True)
    restricted = control.create_key(ip_allowlist=["10.1.2.3"])
    base = exchange_emulator.base_url

    async def body():  # noqa: ANN202
        perms = await _signed(base, "GET", "/sapi/v1/account/apiRestrictions", {},
                              api_key=reader["api_key"], secret=reader["secret"])
        futures = await _signed(base, "GET", "/fapi/v3/account", {}, api_key=reader["api_key"],
                                secret=reader["secret"])
        ip = await _signed(base, "GET", "/sapi/v1/account/apiRestrictions", {},
                           api_key=restricted["api_key"], secret=restricted["secret"])
        return perms, futures, ip

    perms, futures, ip = run(body())
    assert perms[0] == 200
    assert perms[1]["enableFutures"] is False and perms[1]["enableWithdrawals"] is True
    assert futures[1]["code"] == -2015
    assert ip[1]["code"] == -2015


def test_request_log_records_arrival_times_and_is_readable_over_http(exchange_account: EmulatorAccount,
                                                                     exchange_control: EmulatorControl) -> None:
    before = time.perf_counter_ns()

    async def body(client):  # noqa: ANN001, ANN202
        await client.load_markets()
        await asyncio.gather(*(client.create_order(BTC, "market", "buy", 0.01) for _ in range(2)))

    run(_with_client(exchange_account, body))
    rows = exchange_control.requests(path="/fapi/v1/order")
    assert len(rows) == 2
    assert all(before < r["perf_ns"] <= r["done_perf_ns"] for r in rows)
    assert all(abs(r["wall_ns"] / 1e9 - time.time()) < 60 for r in rows)
    assert rows[0]["form"]["side"] == "BUY" and "signature" not in rows[0]["form"]
    assert rows[0]["api_key"] == exchange_account.api_key and rows[0]["status"] == 200


def test_arrival_is_stamped_when_the_first_bytes_are_read_not_when_the_request_is_complete(
        exchange_emulator: EmulatorServer, exchange_control: EmulatorControl) -> None:
    """The request's head is written, then its last line 50 ms later: the arrival is the first write."""
    url = urllib.parse.urlsplit(exchange_emulator.base_url)

    async def body() -> tuple[int, int]:
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(b"GET /fapi/v1/ping?stamp=split HTTP/1.1\r\nHost: emulator\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        second_part_at = time.perf_counter_ns()
        writer.write(b"Connection: close\r\n\r\n")
        await writer.drain()
        answer = await reader.read()
        writer.close()
        return second_part_at, int(answer.split(b" ", 2)[1])

    second_part_at, status = run(body())
    assert status == 200
    [row] = [r for r in exchange_control.requests(path="/fapi/v1/ping") if r["query"].get("stamp") == "split"]
    assert row["perf_ns"] < second_part_at <= row["done_perf_ns"]
    assert abs(row["wall_ns"] / 1e9 - time.time()) < 60


def test_arrival_is_the_kernels_receive_stamp_even_while_the_emulator_is_busy(
        exchange_emulator: EmulatorServer, exchange_control: EmulatorControl) -> None:
    """The emulator's loop is blocked when the request arrives: its arrival is when the bytes reached the
    socket (the kernel's stamp), its read 100 ms later — the emulator's delay is not the client's."""
    url = urllib.parse.urlsplit(exchange_emulator.base_url)
    busy = threading.Event()

    def block_the_emulator() -> None:
        busy.set()
        time.sleep(0.1)

    async def body() -> tuple[int, int, int]:
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        exchange_emulator._loop.call_soon_threadsafe(block_the_emulator)
        await asyncio.to_thread(busy.wait, 5)
        sent_at = time.perf_counter_ns()
        writer.write(b"GET /fapi/v1/ping?stamp=busy HTTP/1.1\r\nHost: emulator\r\nConnection: close\r\n\r\n")
        await writer.drain()
        written_at = time.perf_counter_ns()
        answer = await reader.read()
        writer.close()
        return sent_at, written_at, int(answer.split(b" ", 2)[1])

    sent_at, written_at, status = run(body())
    assert status == 200
    [row] = [r for r in exchange_control.requests(path="/fapi/v1/ping") if r["query"].get("stamp") == "busy"]
    assert sent_at <= row["perf_ns"] <= written_at + 1_000_000  # arrived as it was written
    assert row["read_perf_ns"] - row["perf_ns"] > 50_000_000  # read once the emulator was free again
    assert row["perf_ns"] < row["read_perf_ns"] <= row["done_perf_ns"]


def test_dropped_connection_after_acceptance_leaves_the_order_at_the_exchange(
    exchange_account: EmulatorAccount, exchange_control: EmulatorControl
) -> None:
    exchange_control.add_fault("drop", when="after", path="/fapi/v1/order", method="POST", times=1)

    async def body(client):  # noqa: ANN001, ANN202
        await client.load_markets()
        with pytest.raises(ccxt_async.NetworkError):
            await client.create_order(BTC, "market", "buy", 0.01, params={"newClientOrderId": "lost-1"})
        return await client.fetch_order(None, BTC, params={"origClientOrderId": "lost-1"})

    order = run(_with_client(exchange_account, body))
    assert order["status"] == "closed"
    assert [o["clientOrderId"] for o in exchange_control.orders()] == ["lost-1"]


def test_rate_limit_fault_answers_429_with_retry_after(exchange_account: EmulatorAccount,
                                                        exchange_control: EmulatorControl) -> None:
    exchange_control.add_fault("rate_limit", path="/fapi/v1/order", retry_after=3, times=1)
    exchange_control.add_fault("ip_ban", path="/fapi/v1/depth", times=1)

    async def body():  # noqa: ANN202
        base = exchange_account.base_url
        async with (aiohttp.ClientSession() as session, session.post(f"{base}/fapi/v1/order") as first,
                    session.get(f"{base}/fapi/v1/depth?symbol=BTCUSDT") as second):
            return (first.status, first.headers.get("Retry-After"), await first.json(),
                    second.status, second.headers.get("Retry-After"))

    status, retry_after, payload, ban_status, ban_retry = run(body())
    assert (status, retry_after, payload["code"]) == (429, "3", -1003)
    assert (ban_status, ban_retry) == (418, "60")
    assert exchange_control.orders() == []


def test_server_error_after_processing_and_injected_business_errors(exchange_account: EmulatorAccount,
                                                                    exchange_control: EmulatorControl) -> None:
    exchange_control.add_fault("server_error", when="after", path="/fapi/v1/order", method="POST", times=1)
    exchange_control.add_fault("insufficient_margin", path="/fapi/v1/order", method="POST", times=1)

    async def body(client):  # noqa: ANN001, ANN202
        await client.load_markets()
        with pytest.raises(ccxt_async.BaseError) as first:
            await client.create_order(BTC, "market", "buy", 0.01, params={"newClientOrderId": "s-1"})
        with pytest.raises(ccxt_async.ExchangeError) as second:
            await client.create_order(BTC, "market", "buy", 0.01, params={"newClientOrderId": "s-2"})
        return str(first.value), str(second.value)

    first, second = run(_with_client(exchange_account, body))
    assert "-1001" in first and "-2019" in second
    assert [o["clientOrderId"] for o in exchange_control.orders()] == ["s-1"]  # the 503 came after acceptance


def test_latency_fault_delays_the_answer(exchange_account: EmulatorAccount, exchange_control: EmulatorControl) -> None:
    exchange_control.add_fault("latency", latency_ms=150, path="/fapi/v1/time")

    async def body():  # noqa: ANN202
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            async with session.get(f"{exchange_account.base_url}/fapi/v1/time") as response:
                await response.read()
            return time.perf_counter() - started

    assert run(body()) >= 0.15


def test_naturally_insufficient_margin_and_unknown_orders_use_binance_codes(exchange_account: EmulatorAccount) -> None:
    async def body(client):  # noqa: ANN001, ANN202
        await client.load_markets()
        with pytest.raises(ccxt_async.ExchangeError) as margin:
            await client.create_order(BTC, "market", "buy", 50)
        with pytest.raises(ccxt_async.OrderNotFound):
            await client.fetch_order(None, BTC, params={"origClientOrderId": "never"})
        return str(margin.value)

    assert '"code": -2019' in run(_with_client(exchange_account, body))


def test_emulator_runs_as_a_subprocess_on_a_free_port() -> None:
    with EmulatorProcess(seed=5) as process:
        control = process.control
        assert control.state()["seed"] == 5
        key = control.create_key()
        assert control.orders(api_key=key["api_key"]) == []


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")
def test_sched_batch_emulator_runs_every_thread_under_sched_batch() -> None:
    with EmulatorProcess(extra_args=["--sched-batch"]) as process:
        assert process.control.state()["seed"] == 1  # it serves
        threads = [int(t) for t in os.listdir(f"/proc/{process.process.pid}/task")]
        assert len(threads) > 1  # the market clock runs beside the loop
        assert {os.sched_getscheduler(t) for t in threads} == {os.SCHED_BATCH}
    with EmulatorProcess() as process:
        assert os.sched_getscheduler(process.process.pid) == os.SCHED_OTHER


def test_ldp_exchange_emulator_command_prints_its_address() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ldp.cli", "exchange-emulator", "--port", "0", "--mode", "manual", "--ready-line"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        base_url = json.loads(line)["base_url"]
        assert base_url.startswith("http://127.0.0.1:")
        assert EmulatorControl(base_url).state()["mode"] == "manual"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()  # type: ignore[union-attr]


def test_same_seed_gives_the_same_price_path() -> None:
    first, second = Exchange(seed=42), Exchange(seed=42)
    for exchange in (first, second):
        exchange.advance(30)

    def ohlc(exchange: Exchange, limit: int) -> list:
        return [row[1:5] for row in exchange.klines("ETHUSDT", "1m", None, None, limit)]

    assert ohlc(first, 50) == ohlc(second, 50)
    assert ohlc(Exchange(seed=43), 5) != ohlc(first, 5)


def test_bytes_read_on_two_connections_are_stamped_before_either_request_is_parsed() -> None:
    """Two requests arriving together: the second connection's read is stamped before the first request's
    HTTP parsing runs (which would otherwise delay its stamp by the emulator's own work)."""
    import asyncio
    import time

    from emulators.exchange.server import ArrivalStampingProtocol

    events: list[tuple[str, object]] = []
    arrivals: dict[object, int | None] = {}

    class Parser(asyncio.Protocol):
        def __init__(self, name: str):
            self.name = name

        def data_received(self, data: bytes) -> None:
            events.append(("parsed", self.name, data, time.perf_counter_ns()))

        def connection_lost(self, exc: Exception | None) -> None:
            events.append(("lost", self.name))

    async def scenario() -> dict[object, int | None]:
        first, second = ArrivalStampingProtocol(Parser("a"), arrivals), ArrivalStampingProtocol(Parser("b"), arrivals)
        first.connection_made("transport-a")
        second.connection_made("transport-b")
        loop = asyncio.get_running_loop()
        first.data_received(b"GET / HTTP/1.1\r\n")
        first.data_received(b"Host: x\r\n\r\n")  # chunks of one connection keep their order
        loop.call_soon(second.data_received, b"POST /order HTTP/1.1\r\n")  # read in the loop's next round
        await asyncio.sleep(0.01)
        stamps = dict(arrivals)
        second.data_received(b"tail")
        second.connection_lost(None)  # hands over what is pending before the loss
        return stamps

    stamps = asyncio.run(scenario())
    parsed = [e for e in events if e[0] == "parsed"]
    assert [(e[1], e[2]) for e in parsed] == [("a", b"GET / HTTP/1.1\r\n"), ("a", b"Host: x\r\n\r\n"),
                                             ("b", b"POST /order HTTP/1.1\r\n"), ("b", b"tail")]
    # Both stamped (arrival, read — the same here: no kernel stamp on these stand-in transports), then parsing.
    assert stamps["transport-a"][1] < stamps["transport-b"][1] < parsed[0][3]
    assert all(arrived == read for arrived, read in stamps.values())
    assert events[-1] == ("lost", "b")
