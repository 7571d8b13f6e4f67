"""Order placement against the exchange emulator: persist before send, ask before retry, never twice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from bots.models import BotEvent, Order, OrderStatus
from core.errors import Conflict, ValidationError
from tests.trading.orders.conftest import LiveSetup
from trading.gateways.pool import LiveGatewayPool
from trading.orders.attention import order_needs_attention
from trading.orders.placement import OrderIntent, SubmitPolicy, order_place, order_place_many

BUY = OrderIntent(symbol="BTC/USDT", side="buy", amount=Decimal("0.01"), purpose="entry")
FAST = SubmitPolicy(max_attempts=3, deadline_seconds=10, backoff_seconds=(0.05,), fetch_fee=True)


def place(live: LiveSetup, intent: OrderIntent = BUY, key: str = "intent-1", *, gateway_wrapper=None,  # noqa: ANN001
          policy: SubmitPolicy = FAST) -> Order:
    async def run() -> Order:
        async with LiveGatewayPool(timeout_ms=1000) as pool:
            gateway = await pool.gateway(live.setting)
            if gateway_wrapper is not None:
                gateway = gateway_wrapper(gateway)
            return await order_place(run_id=live.run.pk, intent=intent, idempotency_key=key, gateway=gateway,
                                     policy=policy)

    return async_to_sync(run)()


def exchange_orders(live: LiveSetup) -> list[dict]:
    return live.emulator.control.orders(account=live.account)


class RowCheckingGateway:
    """Delegates to the live gateway; on create_order it reads the database first (persist-before-send)."""

    def __init__(self, inner):  # noqa: ANN001
        self.inner = inner
        self.seen: list[str] = []

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.inner, name)

    async def create_order(self, request):  # noqa: ANN001, ANN201
        row = await sync_to_async(Order.objects.get)(client_order_id=request.client_order_id)
        self.seen.append(row.status)
        return await self.inner.create_order(request)


@pytest.mark.django_db
def test_order_is_persisted_as_submitting_before_it_is_sent_then_takes_the_exchange_state(live: LiveSetup) -> None:
    wrappers = []

    def wrap(gateway):  # noqa: ANN001, ANN202
        wrappers.append(RowCheckingGateway(gateway))
        return wrappers[0]

    order = place(live, gateway_wrapper=wrap)
    assert wrappers[0].seen == [OrderStatus.SUBMITTING]
    order.refresh_from_db()
    [at_exchange] = exchange_orders(live)
    assert order.status == OrderStatus.CLOSED and order.exchange_setting_id == live.setting.pk
    assert order.client_order_id == at_exchange["clientOrderId"] and order.client_order_id.startswith("ldp")
    assert order.exchange_order_id == str(at_exchange["orderId"])
    assert order.filled == Decimal("0.01") and order.average == Decimal(at_exchange["avgPrice"])
    assert order.fee == Decimal(at_exchange["commission"]) and order.fee_currency == "USDT"
    assert order.submitted_at and order.filled_at


@pytest.mark.django_db
def test_same_idempotency_key_never_creates_a_second_order(live: LiveSetup) -> None:
    first = place(live)
    second = place(live)
    assert first.pk == second.pk
    assert len(exchange_orders(live)) == 1 and Order.objects.count() == 1


@pytest.mark.django_db
def test_idempotency_key_reused_for_a_different_order_is_refused(live: LiveSetup) -> None:
    place(live)
    with pytest.raises(Conflict):
        place(live, OrderIntent(symbol="BTC/USDT", side="sell", amount=Decimal("0.01")))


@pytest.mark.django_db
def test_amount_is_rounded_to_the_lot_step_before_it_is_stored_and_sent(live: LiveSetup) -> None:
    order = place(live, OrderIntent(symbol="BTC/USDT", side="buy", amount=Decimal("0.01299")))
    assert order.amount == Decimal("0.012")
    assert exchange_orders(live)[0]["origQty"] == "0.012"
    with pytest.raises(ValidationError):
        place(live, OrderIntent(symbol="BTC/USDT", side="buy", amount=Decimal("0.0001")), key="tiny")
    assert Order.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("fault", [
    {"kind": "drop", "when": "after"},
    {"kind": "server_error", "when": "after"},
    {"kind": "latency", "latency_ms": 1500},  # longer than the client's timeout
])
def test_unknown_outcome_is_resolved_by_asking_the_exchange_not_by_resending(live: LiveSetup, fault: dict) -> None:
    live.emulator.control.add_fault(path="/fapi/v1/order", method="POST", times=1, **fault)
    order = place(live)
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED and order.exchange_order_id
    assert len(exchange_orders(live)) == 1
    calls = live.emulator.control.requests(path="/fapi/v1/order")
    assert [r["method"] for r in calls[:2]] == ["POST", "GET"]  # asked before anything else
    client_ids = {r["form"].get("newClientOrderId") or r["query"].get("origClientOrderId") for r in calls}
    assert client_ids == {order.client_order_id}  # a resend (if any) reuses the id: the exchange dedupes


@pytest.mark.django_db
@pytest.mark.parametrize("fault", [{"kind": "drop", "when": "before"}, {"kind": "server_error", "when": "before"}])
def test_a_request_that_never_arrived_is_sent_again_with_the_same_client_order_id(live: LiveSetup,
                                                                                  fault: dict) -> None:
    live.emulator.control.add_fault(path="/fapi/v1/order", method="POST", times=1, **fault)
    order = place(live)
    assert order.status == OrderStatus.CLOSED
    [at_exchange] = exchange_orders(live)
    sent = [r for r in live.emulator.control.requests(path="/fapi/v1/order") if r["method"] == "POST"]
    assert len(sent) == 2 and {r["form"]["newClientOrderId"] for r in sent} == {at_exchange["clientOrderId"]}


@pytest.mark.django_db
def test_rate_limited_order_waits_and_is_sent_again(live: LiveSetup) -> None:
    live.emulator.control.add_fault("rate_limit", path="/fapi/v1/order", method="POST", times=1, retry_after=0)
    order = place(live)
    assert order.status == OrderStatus.CLOSED and len(exchange_orders(live)) == 1


@pytest.mark.django_db
def test_insufficient_margin_rejects_the_order_with_a_clear_message(live: LiveSetup) -> None:
    order = place(live, OrderIntent(symbol="BTC/USDT", side="buy", amount=Decimal("50")))
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED and "margin" in order.last_error
    assert exchange_orders(live) == []


@pytest.mark.django_db
def test_order_whose_state_cannot_be_determined_becomes_unknown_and_alerts(live: LiveSetup) -> None:
    alerts = []

    def receiver(sender, order, reason, **kwargs):  # noqa: ANN001, ANN202
        alerts.append((order.pk, reason))

    order_needs_attention.connect(receiver)
    live.emulator.control.add_fault("drop", when="after", path="/fapi/v1/order", method="POST", times=1)
    live.emulator.control.add_fault("server_error", path="/fapi/v1/order", method="GET")
    try:
        order = place(live)
    finally:
        order_needs_attention.disconnect(receiver)
    order.refresh_from_db()
    assert order.status == OrderStatus.UNKNOWN and order.attention_at is not None
    assert alerts == [(order.pk, order.attention_reason)]
    event = BotEvent.objects.get(subscribed_bot=live.run.subscribed_bot)
    assert event.data["order_id"] == order.pk and "could not be confirmed" in event.message
    assert len(exchange_orders(live)) == 1  # it is there; reconciliation will find it


@pytest.mark.django_db
def test_place_many_persists_all_then_sends_concurrently(live: LiveSetup) -> None:
    sell = OrderIntent(symbol="ETH/USDT", side="sell", amount=Decimal("0.05"))

    async def run() -> list[Order]:
        async with LiveGatewayPool() as pool:
            gateway = await pool.gateway(live.setting, rate_limiter="burst")
            return await order_place_many(run_id=live.run.pk, intents=[(BUY, "a"), (sell, "b")], gateway=gateway,
                                          policy=FAST)

    orders = async_to_sync(run)()
    assert [o.status for o in orders] == [OrderStatus.CLOSED, OrderStatus.CLOSED]
    assert {o["symbol"] for o in exchange_orders(live)} == {"BTCUSDT", "ETHUSDT"}
