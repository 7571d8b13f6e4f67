"""The paper gateway: live market data from the emulator, orders never sent, the simulation's fill model."""

from __future__ import annotations

from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync

from bots.models import Order, OrderStatus, RunStatus, RunType
from emulators.exchange import EmulatorServer
from exchanges.models import PaperAccount
from tests.factories import BotRunFactory, SubscribedBotFactory
from trading.fills import fee_for, market_fill_price
from trading.gateways.base import ExchangeGateway, OrderRequest
from trading.gateways.paper import PaperFillModel, PaperGateway
from trading.gateways.pool import LiveGatewayPool
from trading.orders.placement import OrderIntent, order_place

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("exchange_api_base")]
MODEL = PaperFillModel(fee_rate=Decimal("0.001"), slippage_bps=Decimal("5"))


def with_paper(subscribed_bot_id: int, body, timeframe: str = "1m"):  # noqa: ANN001, ANN201
    async def run():  # noqa: ANN202
        async with LiveGatewayPool() as pool:
            paper = await PaperGateway.for_subscribed_bot(
                subscribed_bot_id=subscribed_bot_id, market_data=await pool.public("binanceusdm"),
                timeframe=timeframe, starting_balance=Decimal(5000), fill_model=MODEL)
            return await body(paper)

    return async_to_sync(run)()


def buy(cid: str, amount: str = "0.01", **fields: object) -> OrderRequest:
    return OrderRequest(client_order_id=cid, symbol="BTC/USDT", side=fields.pop("side", "buy"),
                        type=fields.pop("type", "market"), amount=Decimal(amount), **fields)


def test_market_order_fills_at_the_forming_bars_open_plus_slippage_and_is_never_sent(
    exchange_emulator: EmulatorServer,
) -> None:
    bot = SubscribedBotFactory()
    open_price = Decimal(exchange_emulator.exchange.klines("BTCUSDT", "1m", None, None, 1)[-1][1])

    async def body(paper: PaperGateway):  # noqa: ANN202
        assert isinstance(paper, ExchangeGateway)
        order = await paper.create_order(buy("p-1"))
        return order, await paper.fetch_balance(), await paper.fetch_positions()

    order, balance, positions = with_paper(bot.pk, body)
    expected = market_fill_price(open_price, "buy", MODEL.slippage_bps)
    assert order.status == "closed" and order.average == expected
    assert order.fee == fee_for(expected, Decimal("0.01"), MODEL.fee_rate)
    assert balance["USDT"].total == Decimal(5000) - order.fee
    [position] = positions
    assert (position.side, position.amount, position.entry_price) == ("long", Decimal("0.01"), expected)
    assert exchange_emulator.exchange.requests(path="/fapi/v1/order") == []


def test_paper_account_survives_a_restart(exchange_emulator: EmulatorServer) -> None:
    bot = SubscribedBotFactory()

    async def first(paper: PaperGateway):  # noqa: ANN202
        await paper.set_leverage("BTC/USDT", 3)
        return await paper.create_order(buy("p-keep"))

    placed = with_paper(bot.pk, first)

    async def second(paper: PaperGateway):  # noqa: ANN202
        return await paper.fetch_order("BTC/USDT", client_order_id="p-keep"), await paper.fetch_positions()

    again, positions = with_paper(bot.pk, second)
    assert again == placed
    assert positions[0].leverage == 3 and positions[0].amount == Decimal("0.01")
    assert PaperAccount.objects.get(subscribed_bot=bot).balance == Decimal(5000) - placed.fee


def test_limit_order_rests_then_fills_at_its_price_and_closing_books_the_pnl(exchange_emulator: EmulatorServer) -> None:
    bot = SubscribedBotFactory()
    exchange = exchange_emulator.exchange
    price = exchange.price("BTCUSDT")
    limit = price - 500

    async def place(paper: PaperGateway):  # noqa: ANN202
        return await paper.create_order(buy("p-lim", type="limit", price=limit))

    assert with_paper(bot.pk, place).status == "open"
    exchange.set_price("BTCUSDT", price - 1000)

    async def check(paper: PaperGateway):  # noqa: ANN202
        filled = await paper.fetch_order("BTC/USDT", client_order_id="p-lim")
        exit_order = await paper.create_order(buy("p-exit", side="sell", reduce_only=True))
        return filled, exit_order, await paper.fetch_balance()

    filled, exit_order, balance = with_paper(bot.pk, check)
    assert filled.status == "closed" and filled.average == limit
    pnl = (exit_order.average - limit) * Decimal("0.01")
    assert balance["USDT"].total == Decimal(5000) - filled.fee - exit_order.fee + pnl


def test_orders_over_the_paper_margin_are_refused(exchange_emulator: EmulatorServer) -> None:
    from trading.gateways import errors as gw

    bot = SubscribedBotFactory()

    async def body(paper: PaperGateway):  # noqa: ANN202
        with pytest.raises(gw.InsufficientFunds):
            await paper.create_order(buy("p-big", "5"))

    with_paper(bot.pk, body)


def test_dry_run_orders_go_through_the_same_order_layer(exchange_emulator: EmulatorServer) -> None:
    run = BotRunFactory(run_type=RunType.DRY_RUN, status=RunStatus.RUNNING)

    async def body(paper: PaperGateway):  # noqa: ANN202
        intent = OrderIntent(symbol="BTC/USDT", side="buy", amount=Decimal("0.0105"))
        first = await order_place(run_id=run.pk, intent=intent, idempotency_key="bar-1", gateway=paper)
        again = await order_place(run_id=run.pk, intent=intent, idempotency_key="bar-1", gateway=paper)
        return first, again

    first, again = with_paper(run.subscribed_bot_id, body)
    row = Order.objects.get()
    assert first.pk == again.pk == row.pk
    assert row.status == OrderStatus.CLOSED and row.amount == Decimal("0.010") and row.run_type == RunType.DRY_RUN
    assert row.exchange_order_id.startswith("paper-") and row.fee > 0
    assert exchange_emulator.exchange.requests(path="/fapi/v1/order") == []
