from __future__ import annotations

from django.db import models
from django.db.models import Q

from marketdata.timeframes import TIMEFRAMES

PRICE = {"max_digits": 28, "decimal_places": 10}


class Candle(models.Model):
    """One OHLCV bar. `exchange` names the data source: a ccxt id (binanceusdm), "csv", or "synthetic"
    for the generator's bars, which are never real market data. Symbols are stored as BASE/QUOTE.
    """

    exchange = models.CharField(max_length=32)
    symbol = models.CharField(max_length=32)
    timeframe = models.CharField(max_length=8)
    open_time = models.DateTimeField(help_text="bar open, UTC")
    open = models.DecimalField(**PRICE)
    high = models.DecimalField(**PRICE)
    low = models.DecimalField(**PRICE)
    close = models.DecimalField(**PRICE)
    volume = models.DecimalField(max_digits=32, decimal_places=10, help_text="base units")

    class Meta:
        db_table = "candle"
        # The unique key doubles as the index for range reads (exchange, symbol, timeframe, open_time).
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "symbol", "timeframe", "open_time"], name="candle_unique_key"
            ),
            models.CheckConstraint(condition=Q(timeframe__in=TIMEFRAMES), name="candle_timeframe_valid"),
            models.CheckConstraint(condition=Q(low__lte=models.F("high")), name="candle_low_le_high"),
        ]
        ordering = ["exchange", "symbol", "timeframe", "open_time"]

    def __str__(self) -> str:
        return f"{self.exchange} {self.symbol} {self.timeframe} {self.open_time:%Y-%m-%d %H:%M}"

    @property
    def is_synthetic(self) -> bool:
        return self.exchange == "synthetic"
