"""Reconciliation brings non-final live orders and open positions in line with the exchange emulator."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bots.models import BotEvent, Order, OrderStatus, RunType
from tests.factories import OrderFactory, StaffFactory, TradeFactory
from tests.trading.orders.conftest import LiveSetup, live_setup_create
from trading.gateways.base import OrderRequest
from trading.gateways.pool import LiveGatewayPool
from trading.orders.reconcile import UNKNOWN_AFTER_ATTEMPTS, reconcile_all
from trading.orders.services import order_cancel, order_resync

pytestmark = pytest.mark.django_db


def submitting(live: LiveSetup, cid: str, *, age_seconds: int = 600, **fields: object) -> Order:
    order = OrderFactory(run=live.run, run_type=RunType.LIVE, exchange_setting=live.setting, client_order_id=cid,
                         status=fields.pop("status", OrderStatus.SUBMITTING), **fields)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(seconds=age_seconds))
    order.refresh_from_db()
    return order


def place_directly(live: LiveSetup, cid: str, **fields: object) -> None:
    """The order reached the exchange but the process died before writing the answer."""
    async def run() -> None:
        async with LiveGatewayPool() as pool:
            gateway = await pool.gateway(live.setting)
            await gateway.create_order(OrderRequest(client_order_id=cid, symbol="BTC/USDT", side="buy",
                                                    type=fields.pop("type", "market"), amount=Decimal("0.01"),
                                                    **fields))

    async_to_sync(run)()


def test_orders_left_submitting_by_a_crash_are_adopted_or_marked_never_placed(live: LiveSetup) -> None:
    landed = submitting(live, "ldp-landed")
    lost = submitting(live, "ldp-lost")
    young = submitting(live, "ldp-young", age_seconds=1)
    place_directly(live, "ldp-landed")

    report = reconcile_all()

    for order in (landed, lost, young):
        order.refresh_from_db()
    assert landed.status == OrderStatus.CLOSED and landed.exchange_order_id and landed.fee > 0
    assert lost.status == OrderStatus.REJECTED and "Never reached the exchange" in lost.last_error
    assert young.status == OrderStatus.SUBMITTING  # may still be in flight in a live process
    assert (report.checked, report.changed, report.not_placed, report.skipped_young) == (2, 1, 1, 1)


def test_an_open_limit_order_filled_later_is_updated(live: LiveSetup, exchange_emulator) -> None:  # noqa: ANN001
    price = exchange_emulator.exchange.price("BTCUSDT")
    limit = price - 300
    order = submitting(live, "ldp-limit", type="limit", price=limit, status=OrderStatus.OPEN)
    place_directly(live, "ldp-limit", type="limit", price=limit)
    reconcile_all()
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN
    exchange_emulator.exchange.set_price("BTCUSDT", price - 600)
    reconcile_all()
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED and order.average == limit


def test_an_exchange_that_cannot_answer_turns_the_order_unknown_and_flags_it(live: LiveSetup) -> None:
    order = submitting(live, "ldp-dark")
    live.emulator.control.add_fault("server_error", path="/fapi/v1/order", method="GET")
    for _ in range(UNKNOWN_AFTER_ATTEMPTS):
        reconcile_all()
    order.refresh_from_db()
    assert order.status == OrderStatus.UNKNOWN and order.attention_at is not None
    assert order.reconcile_attempts == UNKNOWN_AFTER_ATTEMPTS
    assert BotEvent.objects.filter(data__order_id=order.pk).count() == 1  # alerted once, not every run

    live.emulator.control.clear_faults()
    reconcile_all()
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED and order.attention_at is None


def test_an_open_order_the_exchange_no_longer_knows_is_flagged(live: LiveSetup) -> None:
    order = submitting(live, "ldp-vanished", status=OrderStatus.OPEN, exchange_order_id="123")
    reconcile_all()
    order.refresh_from_db()
    assert order.status == OrderStatus.UNKNOWN and "no longer knows" in order.attention_reason


def test_an_order_of_ours_at_the_exchange_without_a_row_is_reported(live: LiveSetup) -> None:
    submitting(live, "ldp-known")
    place_directly(live, "ldp-orphan", type="limit", price=Decimal("30000.0"))
    report = reconcile_all()
    assert report.unknown_at_exchange == ["ldp-orphan"]


def test_open_trade_closed_at_the_exchange_is_closed_in_the_database(live: LiveSetup) -> None:
    closed_elsewhere = TradeFactory(run=live.run, is_open=True, amount=Decimal("0.01"), pair="BTC/USDT")
    other = live_setup_create(live.emulator)
    matching = TradeFactory(run=other.run, is_open=True, amount=Decimal("0.01"), pair="BTC/USDT")
    place_directly(other, "ldp-position")

    report = reconcile_all()

    closed_elsewhere.refresh_from_db()
    matching.refresh_from_db()
    assert not closed_elsewhere.is_open and closed_elsewhere.exit_reason == "closed_on_exchange"
    assert matching.is_open
    assert report.position_mismatches == ["BTC/USDT: the platform holds 0.01 but the exchange holds 0"]
    assert BotEvent.objects.filter(subscribed_bot=live.run.subscribed_bot, data__position_mismatch="BTC/USDT").exists()


def test_user_and_operator_services_resync_and_cancel(live: LiveSetup, exchange_emulator) -> None:  # noqa: ANN001
    landed = submitting(live, "ldp-s1", status=OrderStatus.UNKNOWN, attention_at=timezone.now())
    place_directly(live, "ldp-s1")
    resting = submitting(live, "ldp-s2", status=OrderStatus.OPEN, type="limit", price=Decimal("30000.0"))
    place_directly(live, "ldp-s2", type="limit", price=Decimal("30000.0"))

    assert order_resync(order_id=landed.pk, user=live.setting.user).status == OrderStatus.CLOSED
    landed.refresh_from_db()
    assert landed.attention_at is None
    assert order_cancel(order_id=resting.pk).status == OrderStatus.CANCELED
    assert [o["status"] for o in exchange_emulator.control.orders(account=live.account)] == ["FILLED", "CANCELED"]


def test_operators_queue_lists_flagged_orders_and_resyncs_them(live: LiveSetup, client: Client) -> None:
    flagged = submitting(live, "ldp-q1", status=OrderStatus.UNKNOWN, attention_at=timezone.now(),
                         attention_reason="exchange unreachable")
    submitting(live, "ldp-q2", status=OrderStatus.OPEN)
    place_directly(live, "ldp-q1")
    client.force_login(StaffFactory())
    url = reverse("admin:exchanges_orderneedingattention_changelist")
    page = client.get(url).content.decode()
    assert "ldp-q1" in page and "ldp-q2" not in page
    client.post(url, {"action": "action_re_sync_with_the_exchange", "_selected_action": [str(flagged.pk)]})
    flagged.refresh_from_db()
    assert flagged.status == OrderStatus.CLOSED and flagged.attention_at is None
