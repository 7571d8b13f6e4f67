"""Demo step: a few weeks of SYNTHETIC 1-minute candles for the demo bots' symbols."""

from __future__ import annotations

from datetime import UTC, datetime

from marketdata.models import Candle
from marketdata.series import SYNTHETIC_EXCHANGE
from marketdata.services import candles_generate

DEMO_SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
DEMO_DAYS = 21


def demo_candles_load(*, progress: bool = False, now: datetime | None = None) -> None:
    """Generate DEMO_DAYS of synthetic minutes per symbol, ending at the start of today (UTC).

    Idempotent: a symbol that already has synthetic candles is left alone (a second series would not join
    the first one smoothly).
    """
    end = (now or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    todo = [s for s in DEMO_SYMBOLS if not Candle.objects.filter(exchange=SYNTHETIC_EXCHANGE, symbol=s).exists()]
    if not todo:
        if progress:
            print("  candles: synthetic demo candles already loaded", flush=True)
        return
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo) * DEMO_DAYS * 1440, desc="  synthetic candles", unit="bar", unit_scale=True)
    try:
        stored = candles_generate(symbols=todo, days=DEMO_DAYS, end=end, progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    if progress:
        print(f"  candles: {stored} SYNTHETIC 1m candles ({', '.join(todo)}, {DEMO_DAYS} days to {end:%Y-%m-%d})",
              flush=True)
