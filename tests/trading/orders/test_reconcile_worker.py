"""A (re)started Celery worker reconciles first: worker_ready -> tasks.reconcile.reconcile_orders."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from bots.models import Order, OrderStatus, RunType
from emulators.exchange import EmulatorServer
from tests.factories import OrderFactory
from tests.trading.orders.conftest import LiveSetup, live_setup_create
from tests.trading.orders.test_reconcile import place_directly


@pytest.fixture
def crashed_order(exchange_emulator: EmulatorServer, transactional_db, monkeypatch, settings) -> tuple[LiveSetup, Order]:  # noqa: ANN001, E501
    # The worker process reads EXCHANGE_API_BASE from its environment.
    monkeypatch.setenv("EXCHANGE_API_BASE", exchange_emulator.base_url)
    settings.EXCHANGE_API_BASE = exchange_emulator.base_url
    live = live_setup_create(exchange_emulator)
    order = OrderFactory(run=live.run, run_type=RunType.LIVE, exchange_setting=live.setting,
                         client_order_id="ldp-crashed", status=OrderStatus.SUBMITTING)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    place_directly(live, "ldp-crashed")
    return live, order


@pytest.mark.slow
def test_worker_start_reconciles_orders_left_by_a_crash(crashed_order, celery_worker_process) -> None:  # noqa: ANN001
    _, order = crashed_order
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        order.refresh_from_db()
        if order.status != OrderStatus.SUBMITTING:
            break
        time.sleep(0.25)
    assert order.status == OrderStatus.CLOSED and order.exchange_order_id
