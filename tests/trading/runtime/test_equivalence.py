"""A dry-run bot fed a replayed candle stream makes exactly the trades a simulation of those candles makes."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from bots.models import Order, Trade
from marketdata.selectors import candles_get
from marketdata.timeframes import from_ms
from tests.trading.runtime.conftest import EXCHANGE, START_MS, running_bot, store_candles, tick
from trading.runtime.step import warmup_bars
from trading.simulation.runner import simulate
from trading.strategies.registry import strategy_get

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_candles")]

CASES = {
    "sma_cross": {"fast": 5, "slow": 20, "allow_short": True, "stop_loss_pct": 0.4, "take_profit_pct": 0.6},
    "rsi_reversion": {"period": 6, "oversold": 35, "overbought": 65, "allow_short": True, "leverage": 3},
    "bollinger_scalp": {"period": 10, "std_mult": 1.2, "allow_short": True, "size_pct": 50},
    "grid": {"levels": 6, "spacing_pct": 0.15},
}
BARS = 360


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


@pytest.mark.parametrize("strategy_name", list(CASES))
def test_dry_run_makes_the_same_trades_as_the_simulation_of_the_same_candles(strategy_name: str) -> None:
    settings = {"symbol": "BTC/USDT", "timeframe": "1m", "max_drawdown_pct": 0, **CASES[strategy_name]}
    candles = store_candles(count=BARS)
    subscribed = running_bot(settings, strategy=strategy_name)
    strategy = strategy_get(strategy_name)(settings)
    first = warmup_bars(strategy) - 1  # the first tick warms up on bars 0..first, then decides on `first`

    for index in range(first, BARS - 1):
        tick(int(candles.ts[index]), [subscribed.pk])

    stored = candles_get(exchange=EXCHANGE, symbol="BTC/USDT", timeframe="1m", start=from_ms(START_MS),
                         end=from_ms(int(candles.ts[-1]) + 60_000))
    result = simulate(stored, strategy, balance=10_000.0, fee_rate=0.001, slippage_bps=0.0, start_index=first)
    ts = result.engine.candles.ts
    offset = result.engine.offset

    def at(bar: int) -> datetime:
        return from_ms(int(ts[bar - offset]))

    # Every fill: same bar, side, amount, price, fee and purpose (entry, increase, reduce, exit, stop_loss, …).
    # The simulation ends by closing at the last bar; the dry-run bot still holds that position.
    fills = [fill for fill in result.engine.fills if fill.purpose != "end_of_range"]
    orders = list(Order.objects.filter(subscribed_bot=subscribed).order_by("filled_at", "id"))
    assert len(fills) >= 6, "the case should trade"
    assert [(o.filled_at, o.side, o.purpose) for o in orders] == [(at(f.bar), f.side, f.purpose) for f in fills]
    for order, fill in zip(orders, fills, strict=True):
        assert _close(float(order.amount), fill.amount)
        assert _close(float(order.average), fill.price)
        assert _close(float(order.fee), fill.fee)

    expected = [t for t in result.engine.trades if t.exit_reason != "end_of_range"]
    still_open = [t for t in result.engine.trades if t.exit_reason == "end_of_range"]
    actual = list(Trade.objects.filter(subscribed_bot=subscribed, is_open=False).order_by("opened_at"))
    assert len(actual) == len(expected)
    for mine, theirs in zip(actual, expected, strict=True):
        assert (mine.side, mine.opened_at, mine.closed_at, mine.exit_reason) == (
            theirs.side, at(theirs.entry_bar), at(theirs.exit_bar), theirs.exit_reason
        )
        assert _close(float(mine.amount), theirs.amount)
        assert _close(float(mine.entry_price), theirs.entry_price)
        assert _close(float(mine.exit_price), theirs.exit_price)
        assert _close(float(mine.fee), theirs.fees)
        assert _close(float(mine.realized_pnl), theirs.pnl)
    open_trades = list(Trade.objects.filter(subscribed_bot=subscribed, is_open=True))
    assert [(t.side, t.opened_at) for t in open_trades] == [(t.side, at(t.entry_bar)) for t in still_open]
