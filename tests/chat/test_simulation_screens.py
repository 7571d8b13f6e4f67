"""The simulation result screen and notification read the simulator's own metric keys (trading.metrics)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from bots.models import RunStatus, RunType
from chat import payloads
from chat.journeys.simulation import metric_lines
from tests.chat.conftest import CoreDriver
from tests.factories import BotRunFactory, SubscribedBotFactory
from trading.metrics import compute_metrics
from users.models import ChatIdentity

pytestmark = pytest.mark.django_db


def _metrics() -> dict:
    # The exact dict the simulation runner stores on BotRun.metrics (fees_paid, not "fees").
    return compute_metrics(
        equity=np.array([1000.0, 1010.0, 1004.5, 1030.25]), start_balance=1000.0,
        position=np.array([1, 1, 0, 0]), trade_pnls=[12.5, 17.75], fees_paid=12.345678,
        bar_ms=3_600_000, range_ms=30 * 24 * 3_600_000,
    )


def test_metric_lines_show_the_fees_the_simulator_paid() -> None:
    lines = metric_lines(_metrics())
    assert "Fees: 12.35 USDT" in lines
    assert "Profit after fees: +30.25 USDT" in lines and "Trades: 2" in lines


def test_a_finished_simulations_screen_shows_its_fees(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    user = ChatIdentity.objects.get(external_user_id="5001").user
    subscribed = SubscribedBotFactory(user=user, run_type=RunType.SIMULATION)
    run = BotRunFactory(
        subscribed_bot=subscribed, status=RunStatus.FINISHED, metrics=_metrics(),
        parameters={"start": "2024-01-01T00:00:00+00:00", "end": "2024-01-02T00:00:00+00:00"},
    )
    payload = payloads.encode("sip", (subscribed.pk, run.pk), owner_id=user.pk, issued_at=datetime.now(UTC),
                              nonce=payloads.new_nonce())
    screen = tg_driver.press_payload(payload).screen
    assert screen.title == f"Simulation of {subscribed.bot.name}"
    assert "Fees: 12.35 USDT" in screen.text and "Period: 2024-01-01 → 2024-01-02" in screen.text
