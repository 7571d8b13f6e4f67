"""Fixtures for the bot runtime: candles in the store, a running dry-run bot, a ticking helper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from bots.models import BotKind, RunType
from bots.runtime.services import bot_start, bot_start_finish
from marketdata.generator import generate_candles
from marketdata.series import Candles
from marketdata.services import candles_store
from marketdata.timeframes import MINUTE_MS, from_ms
from tests.factories import BotFactory, SubscribedBotFactory, UserFactory
from trading.runtime.candles import windows_forget
from trading.runtime.engine import TickReport, tick_batch

START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
EXCHANGE = "binanceusdm"


NO_EXCHANGE = "http://127.0.0.1:9"  # discard port: refused at once


@pytest.fixture(autouse=True)
def _no_real_exchange(settings) -> None:  # noqa: ANN001
    """Bars missing from the store would be fetched from the exchange: never the real one in tests
    (`exchange_api_base` points at the emulator instead)."""
    settings.EXCHANGE_API_BASE = NO_EXCHANGE


@pytest.fixture
def redis_candles(broker_url: str) -> Iterator[None]:
    """The shared candle windows live in Redis: start from none, leave none behind."""
    windows_forget()
    yield
    windows_forget()


def store_candles(symbol: str = "BTC/USDT", count: int = 400, seed: int = 7) -> Candles:
    candles = replace(generate_candles(symbol, start_ms=START_MS, count=count, seed=seed), exchange=EXCHANGE,
                      synthetic=False)
    candles_store(candles=candles)
    return candles


def running_bot(settings: dict, *, strategy: str = "sma_cross", user=None):  # noqa: ANN001, ANN201
    """A subscribed dry-run bot, STARTed and running (both phases of START)."""
    bot = BotFactory(kind=BotKind.AUTOMATED, strategy=strategy, default_setting=settings)
    subscribed = SubscribedBotFactory(user=user or UserFactory(), bot=bot, run_type=RunType.DRY_RUN)
    bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    bot_start_finish(subscribed_bot_id=subscribed.pk)
    subscribed.refresh_from_db()
    return subscribed


def tick(candle_ms: int, bot_ids: list[int], timeframe: str = "1m", lag_ms: int = 500) -> TickReport:
    step = {"1m": MINUTE_MS, "5m": 5 * MINUTE_MS}[timeframe]
    return tick_batch(timeframe=timeframe, candle_ms=candle_ms, bot_ids=bot_ids, now=from_ms(candle_ms + step + lag_ms))
