"""Simulation for Ttadak: "at my fee level, does this earn?" over the candle store (ttadak.estimator).

The range is the last `days` of stored 1-minute candles for the bot's symbol (the most recent data the
platform has, synthetic demo data included — the result says which). The run is recorded as a finished
simulation BotRun with the figures in its metrics, next to the other bots' simulations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.db.models import Max
from django.utils import timezone

from bots.models import BotRun, RunStatus, RunType
from core.errors import ValidationError
from marketdata.models import Candle
from marketdata.selectors import candle_exchange_resolve, candles_get
from marketdata.symbols import symbol_canonical
from ttadak.estimator import Estimate, estimate_games
from ttadak.selectors import ttadak_bot_get_for_user, ttadak_settings_get
from users.models import User
from users.services import user_require_active

MAX_DAYS = 90
EVERY_CHOICES = (1, 5, 15, 60)


@dataclass(frozen=True)
class SimulationResult:
    run: BotRun
    exchange: str
    symbol: str
    start: datetime
    end: datetime
    every_minutes: int
    settings: dict[str, Any]
    buy: Estimate
    sell: Estimate

    @property
    def synthetic(self) -> bool:
        return self.exchange == "synthetic"


def ttadak_simulate(*, user: User, subscribed_bot_id: int, days: int, every_minutes: int = 5) -> SimulationResult:
    """Estimate BUY and SELL games started every `every_minutes` over the last `days` of data."""
    user_require_active(user)
    if not 1 <= int(days) <= MAX_DAYS:
        raise ValidationError(f"days must be between 1 and {MAX_DAYS}", field="days")
    if every_minutes not in EVERY_CHOICES:
        raise ValidationError(f"every_minutes must be one of {', '.join(map(str, EVERY_CHOICES))}",
                              field="every_minutes")
    subscribed_bot = ttadak_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    settings = ttadak_settings_get(subscribed_bot=subscribed_bot)
    symbol = symbol_canonical(settings["symbol"])
    exchange = candle_exchange_resolve(symbol=symbol, timeframe="1m", preferred=[
        *django_settings.SUPPORTED_EXCHANGES, "binance", "synthetic"])
    last = Candle.objects.filter(exchange=exchange, symbol=symbol, timeframe="1m").aggregate(last=Max("open_time"))
    if last["last"] is None:
        raise ValidationError(f"no 1-minute candles for {symbol}; load some first", field="symbol")
    end = last["last"] + timedelta(minutes=1)
    start = end - timedelta(days=int(days))
    candles = candles_get(exchange=exchange, symbol=symbol, timeframe="1m", start=start, end=end)
    buy = estimate_games(candles, settings, side="long", every_minutes=every_minutes)
    sell = estimate_games(candles, settings, side="short", every_minutes=every_minutes)
    now = timezone.now()
    run = BotRun.objects.create(
        subscribed_bot=subscribed_bot, run_type=RunType.SIMULATION, status=RunStatus.FINISHED, progress=100,
        parameters={"exchange": exchange, "symbol": symbol, "start": start.isoformat(), "end": end.isoformat(),
                    "every_minutes": every_minutes, "estimator": "ttadak"},
        setting_snapshot=settings, metrics={"buy": buy.as_dict(), "sell": sell.as_dict()}, started_at=now,
        finished_at=now,
    )
    return SimulationResult(run=run, exchange=exchange, symbol=symbol, start=start, end=end,
                            every_minutes=every_minutes, settings=settings, buy=buy, sell=sell)
