"""Warm raw HTTP/1.1 connections (`trading.gateways.wire`): what ccxt sees is what aiohttp would give it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt.async_support as ccxt_async
import pytest
from aiohttp import web

from emulators.exchange import EmulatorControl
from emulators.exchange.testing import EmulatorAccount, ccxt_binanceusdm
from trading.gateways.wire import WireConnections, WireError, ccxt_complete, wire_for
from ttadak import sendgate

BTC = "BTC/USDT:USDT"


async def _serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                 body: Callable[[str], Awaitable[Any]]) -> Any:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        return await body(f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


def test_requests_are_encoded_with_host_length_and_identity_and_refuse_header_injection() -> None:
    wire = WireConnections("https://fapi.example.com")
    payload = wire.encode("POST", "https://fapi.example.com/fapi/v1/order?a=1", {
        "X-MBX-APIKEY": "k", "Accept-Encoding": "gzip, deflate", "Content-Length": "99"}, "x=1&y=2")
    head, _, body = payload.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /fapi/v1/order?a=1 HTTP/1.1" and "Host: fapi.example.com" in lines
    assert "Accept-Encoding: identity" in lines and "Content-Length: 7" in lines and body == b"x=1&y=2"
    assert not any("gzip" in line or line == "Content-Length: 99" for line in lines)
    assert wire.port == 443 and wire.ssl_context is not None
    with pytest.raises(ValueError):
        wire.encode("GET", "https://fapi.example.com/x", {"X-Evil": "a\r\nX-Injected: 1"}, None)
    with pytest.raises(ValueError):
        wire.encode("GET", "https://elsewhere.example.com/x", {}, None)


def test_answers_with_length_chunked_or_close_are_read_and_the_connection_reused_only_when_kept_alive() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/chunked":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for part in (b'{"a": ', b"1", b"}"):
                await response.write(part)
            await response.write_eof()
            return response
        if request.path == "/close":
            return web.json_response({"bye": True}, headers={"Connection": "close"})
        return web.json_response({"path": request.path, "q": request.query_string})

    async def body(base: str) -> None:
        wire = WireConnections(base)
        assert await wire.prime(1, f"{base}/ping") == 1 and wire.idle == 1
        connection = wire.take()
        assert connection is not None and wire.take() is None
        for path, expected in (("/one?x=1", '{"path": "/one", "q": "x=1"}'), ("/chunked", '{"a": 1}')):
            connection.write(wire.encode("GET", f"{base}{path}", {}, None))
            answer = await wire.read(connection, 5)
            assert (answer.status, answer.text, answer.keep_alive) == (200, expected, True)
        assert wire.opened == 1  # one connection served the ping and both requests
        connection.write(wire.encode("GET", f"{base}/close", {}, None))
        answer = await wire.read(connection, 5)
        assert answer.text == '{"bye": true}' and not answer.keep_alive and not connection.usable
        wire.give_back(connection)
        assert wire.idle == 0

    asyncio.run(_serve(handler, body))


def test_a_connection_the_server_dropped_is_not_handed_out_and_a_drop_mid_answer_is_an_error() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/drop":
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        return web.json_response({})

    async def body(base: str) -> None:
        wire = WireConnections(base)
        await wire.prime(1, f"{base}/ping")
        connection = wire.take()
        assert connection is not None
        connection.write(wire.encode("GET", f"{base}/drop", {}, None))
        with pytest.raises(WireError):
            await wire.read(connection, 5)
        wire.give_back(connection)
        assert wire.idle == 0 and wire.take() is None

    asyncio.run(_serve(handler, body))


def test_ccxt_gets_the_same_result_and_the_same_exceptions_as_through_aiohttp(
        exchange_account: EmulatorAccount) -> None:
    async def body() -> None:
        client = ccxt_binanceusdm(exchange_account.base_url, exchange_account.api_key, exchange_account.secret)
        try:
            await client.load_markets()
            wire = wire_for(client, client.urls["api"]["fapiPrivate"])
            assert wire is not None and await wire.prime(1, client.urls["api"]["fapiPublic"] + "/ping") == 1

            async def through_wire(path: str, method: str, params: dict) -> Any:
                signed = client.sign(path.lstrip("/"), ["fapiPrivate"], method, params)
                url = signed["url"]
                headers = client.prepare_request_headers(signed["headers"])
                connection = wire.take()
                assert connection is not None
                connection.write(wire.encode(method, signed["url"], headers, signed["body"]))
                return await ccxt_complete(client, wire, connection, url=url, method=method,
                                           request_headers=headers, request_body=signed["body"])

            await client.create_order(BTC, "limit", "sell", 0.002, 90000, {"newClientOrderId": "resting"})
            via_wire = await through_wire("/openOrders", "GET", {})
            assert [o["clientOrderId"] for o in via_wire] == ["resting"]
            assert via_wire == await client.fapiPrivateGetOpenOrders()
            bad = {"symbol": "NOPEUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"}
            with pytest.raises(ccxt_async.BadSymbol) as refused_via_wire:
                await through_wire("/order", "POST", dict(bad))
            with pytest.raises(ccxt_async.BadSymbol) as refused_via_aiohttp:
                await client.fapiPrivatePostOrder(dict(bad))
            assert str(refused_via_wire.value) == str(refused_via_aiohttp.value)
            assert wire.idle == 1  # an error answer leaves the connection usable
        finally:
            await client.close()

    asyncio.run(body())


def test_gated_legs_are_written_together_on_wire_connections_and_nothing_leaves_when_the_gate_shuts(
        exchange_account: EmulatorAccount, exchange_control: EmulatorControl) -> None:
    async def body() -> None:
        client = ccxt_binanceusdm(exchange_account.base_url, exchange_account.api_key, exchange_account.secret)
        try:
            await client.load_markets()
            sendgate.install(client)
            assert await sendgate.prime(client, 2) == 2
            wire = client._ldp_wire

            def legs(tag: str) -> list[Any]:
                return [lambda side=side: client.create_order(BTC, "market", side, 0.002, None,
                                                              {"newClientOrderId": f"{tag}-{side}"})
                        for side in ("buy", "sell")]

            shut = sendgate.SendGate()
            tasks = sendgate.start_legs(legs("shut"), lambda make: make(), shut)
            await shut.parked(tasks)
            assert wire.idle == 0  # each parked leg holds its own connection
            shut.shut()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(result, asyncio.CancelledError) for result in results)
            assert wire.idle == 2

            gate = sendgate.SendGate()
            tasks = sendgate.start_legs(legs("open"), lambda make: make(), gate)
            await gate.parked(tasks)
            gate.open()
            orders = await asyncio.gather(*tasks)
            assert {o["clientOrderId"] for o in orders} == {"open-buy", "open-sell"}
            assert all(o["status"] == "closed" for o in orders) and wire.idle == 2 and wire.opened == 2
        finally:
            await client.close()

    asyncio.run(body())
    sent = {r["form"]["newClientOrderId"] for r in exchange_control.requests(path="/fapi/v1/order")}
    assert sent == {"open-buy", "open-sell"}  # the shut gate's legs never reached the exchange
