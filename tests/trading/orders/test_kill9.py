"""Crash safety: kill -9 order-placing workers at random moments, restart, reconcile — and compare.

The exchange emulator runs in its own process; workers are forked from a harness process
(tests/trading/orders/kill_harness.py) and place orders through the real service, the live gateway and
ccxt. After every crash a new worker starts over with the same idempotency keys (sometimes reconciling
first, like a restarted Celery worker). At the end: no intent placed twice, no order at the exchange
without its row, and every row's state equal to the exchange's.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from bots.models import Order, OrderStatus
from emulators.exchange import EmulatorProcess
from tests.conftest import database_url_for_subprocess
from tests.trading.orders.conftest import LiveSetup
from trading.orders.reconcile import reconcile_all

REPO_ROOT = Path(__file__).resolve().parents[3]
INTENTS = 90
KILLS = 20
FAULT_KILLS = 8
EXCHANGE_STATUS = {"FILLED": OrderStatus.CLOSED, "NEW": OrderStatus.OPEN, "CANCELED": OrderStatus.CANCELED,
                   "EXPIRED": OrderStatus.EXPIRED}


class Harness:
    def __init__(self, live: LiveSetup, base_url: str, log: str):
        env = dict(os.environ, DATABASE_URL=database_url_for_subprocess(), EXCHANGE_API_BASE=base_url,
                   DJANGO_SETTINGS_MODULE="config.settings")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.trading.orders.kill_harness", "--run-id", str(live.run.pk),
             "--setting-id", str(live.setting.pk), "--intents", str(INTENTS), "--log", log],
            cwd=REPO_ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        assert self.process.stdout.readline().strip() == "ready"  # type: ignore[union-attr]

    def ask(self, command: str) -> int:
        self.process.stdin.write(command + "\n")  # type: ignore[union-attr]
        return int(self.process.stdout.readline())  # type: ignore[union-attr]

    def run_to_end(self, command: str) -> int:
        return self.ask(f"wait {self.ask(command)}")

    def kill_during(self, command: str, delay: float) -> int:
        pid = self.ask(command)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        return self.ask(f"wait {pid}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")  # type: ignore[union-attr]
            self.process.stdin.close()  # type: ignore[union-attr]
            self.process.wait(timeout=20)
        self.process.stdout.close()  # type: ignore[union-attr]


@pytest.fixture
def emulator_process():  # noqa: ANN201
    with EmulatorProcess(seed=3) as process:
        yield process


def _live_setup(emulator: EmulatorProcess) -> LiveSetup:
    from bots.models import RunStatus, RunType
    from core.crypto import encrypt_text, mask_secret
    from exchanges.models import ExchangeSetting, KeyValidationStatus
    from tests.factories import BotRunFactory, SubscribedBotFactory, UserFactory

    key = emulator.control.create_key(balances={"USDT": "1000000"})
    user = UserFactory()
    setting = ExchangeSetting.objects.create(
        user=user, name="main", exchange="binanceusdm", api_key_encrypted=encrypt_text(key["api_key"]),
        api_secret_encrypted=encrypt_text(key["secret"]), api_key_hint=mask_secret(key["api_key"]),
        validation_status=KeyValidationStatus.VALID, can_trade=True, can_trade_futures=True,
    )
    subscribed_bot = SubscribedBotFactory(user=user, exchange_setting=setting, run_type=RunType.LIVE)
    run = BotRunFactory(subscribed_bot=subscribed_bot, run_type=RunType.LIVE, status=RunStatus.RUNNING)
    return LiveSetup(run=run, setting=setting, api_key=key["api_key"], account=key["account"], emulator=None)  # type: ignore[arg-type]


def _assert_database_equals_exchange(live: LiveSetup, emulator: EmulatorProcess) -> None:
    at_exchange = {o["clientOrderId"]: o for o in emulator.control.orders(account=live.account)}
    rows = {o.client_order_id: o for o in Order.objects.filter(run=live.run)}
    # One row per intent, and the exchange never saw a client order id twice (it would have refused).
    assert Counter(o.idempotency_key for o in rows.values()) == Counter(f"intent-{i}" for i in range(INTENTS))
    assert len(at_exchange) == len(emulator.control.orders(account=live.account))
    # No order at the exchange without its database row.
    assert set(at_exchange) <= set(rows)
    for cid, row in rows.items():
        if cid in at_exchange:
            theirs = at_exchange[cid]
            assert row.status == EXCHANGE_STATUS[theirs["status"]], (cid, row.status, theirs["status"])
            assert row.exchange_order_id == str(theirs["orderId"])
            assert row.filled == Decimal(theirs["executedQty"])
        else:
            assert row.status == OrderStatus.REJECTED, (cid, row.status, row.last_error)
    assert not Order.objects.filter(status__in=[OrderStatus.SUBMITTING, OrderStatus.UNKNOWN]).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_kill_9_at_random_points_never_duplicates_or_loses_orders(emulator_process: EmulatorProcess,
                                                                  settings) -> None:  # noqa: ANN001
    settings.EXCHANGE_API_BASE = emulator_process.base_url
    live = _live_setup(emulator_process)
    control = emulator_process.control
    rng = random.Random(20240601)
    # A little latency widens the window in which an order is in flight when the kill lands.
    control.add_fault("latency", path="/fapi/v1/order", method="POST", latency_ms=15)
    with tempfile.NamedTemporaryFile(prefix="kill9-", suffix=".log", delete=False) as log:
        harness = Harness(live, emulator_process.base_url, log.name)
    try:
        killed = in_flight = 0
        for cycle in range(KILLS):
            command = "place reconcile_first" if cycle % 3 == 0 else "place"
            killed += harness.kill_during(command, rng.uniform(0.05, 0.4)) == -signal.SIGKILL
            in_flight += Order.objects.filter(status=OrderStatus.SUBMITTING).exists()
        # The same with connections dropped after acceptance and 5xx answers on top.
        control.add_fault("drop", when="after", path="/fapi/v1/order", method="POST", probability=0.3)
        control.add_fault("server_error", when="after", path="/fapi/v1/order", method="POST", probability=0.2)
        control.add_fault("server_error", path="/fapi/v1/order", method="GET", probability=0.2)
        for cycle in range(FAULT_KILLS):
            command = "place reconcile_first" if cycle % 2 else "place"
            killed += harness.kill_during(command, rng.uniform(0.05, 0.6)) == -signal.SIGKILL
            in_flight += Order.objects.filter(status=OrderStatus.SUBMITTING).exists()
        control.clear_faults()
        assert killed >= KILLS  # the workers really died by SIGKILL (not by finishing early)
        assert in_flight >= 3  # and some kills landed between "persisted" and "answer written"
        assert harness.run_to_end("reconcile") == 0  # a restarted worker reconciles first
        assert harness.run_to_end("place") == 0
    finally:
        harness.close()
    reconcile_all(grace_seconds=0)
    crashes = Path(log.name).read_text()
    Path(log.name).unlink()
    assert "failed" not in crashes, crashes[-2000:]
    _assert_database_equals_exchange(live, emulator_process)
