"""A simulation started from the service runs in a real Celery worker process and reports progress."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bots.models import BotRun, RunStatus, Trade
from marketdata.services import candles_generate
from tests.factories import BotFactory, SubscribedBotFactory
from trading.simulation.services import simulation_start

END = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_simulation_runs_in_a_worker_and_finishes_with_results(celery_worker_process) -> None:
    candles_generate(symbols=["ETH/USDT"], days=8, end=END)
    bot = SubscribedBotFactory(bot=BotFactory(strategy="rsi_reversion", default_setting={
        "symbol": "ETH/USDT", "timeframe": "15m"}))
    run = simulation_start(user=bot.user, subscribed_bot_id=bot.pk, start=END - timedelta(days=7), end=END)

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in (RunStatus.FINISHED, RunStatus.FAILED):
            break
        time.sleep(0.2)
    assert run.status == RunStatus.FINISHED, run.error
    assert run.progress == 100
    assert Trade.objects.filter(run=run).count() == run.metrics["trades"]
    assert BotRun.objects.get(pk=run.pk).chart
