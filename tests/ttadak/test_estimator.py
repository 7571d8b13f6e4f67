"""The simulation estimator over candles, against games worked out by hand."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np

from marketdata.series import Candles
from ttadak.estimator import estimate_games
from ttadak.params import ttadak_settings_resolve

T0 = 1_700_000_040_000 - 1_700_000_040_000 % 60_000


def candles(rows: list[tuple[float, float, float, float]]) -> Candles:
    o, h, low, c = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    ts = T0 + 60_000 * np.arange(len(rows))
    return Candles.from_arrays(ts, o, h, low, c, np.ones(len(rows)), timeframe="1m", symbol="BTC/USDT")


# leverage 10: target 10 % of margin = a 1 % move, stop 5 % = 0.5 %; games last two 1-minute bars.
SETTINGS = ttadak_settings_resolve({"leverage": 10, "target_yield_pct": 10, "stop_loss_pct": 5,
                                    "max_duration_s": 120, "order_amount": 1, "fee_level": "VIP0"})
BARS = [
    (100.0, 100.5, 99.8, 100.2),   # game 1 enters at 100, exit 101, stop 99.5
    (100.2, 101.2, 100.1, 101.0),  # … the exit fills: +1.00 gross
    (101.0, 101.1, 100.4, 100.5),  # game 2 enters at 101, stop 100.495: hit in its first bar
    (100.5, 100.9, 100.3, 100.8),
    (100.8, 101.0, 100.7, 100.9),  # game 3 enters at 100.8: neither exit 101.808 nor stop 100.296 …
    (100.9, 101.2, 100.85, 101.1),  # … so it closes at 101.1 when its time is up
]


def test_three_games_target_stop_and_timeout_by_hand() -> None:
    result = estimate_games(candles(BARS), SETTINGS, side="long", every_minutes=2)
    # fees: target = 100 × 0.05 % + 101 × 0.02 %; others pay taker both ways.
    pnl = [D("1.0") - D("0.0702"), D("-0.505") - D("0.1007475"), D("0.3") - D("0.10095")]
    assert result.games == 3 and result.wins == 2
    assert result.reasons == {"target": 1, "stop_loss": 1, "timeout": 1}
    assert result.total_pnl == sum(pnl)  # 0.5231025
    assert result.avg_pnl == D("0.1743675")
    assert result.worst_pnl == D("-0.6057475")
    assert result.best_pnl == D("0.9298")
    assert result.win_rate_pct == D("66.6667")
    assert result.total_fees == D("0.0702") + D("0.1007475") + D("0.10095")


def test_a_bar_that_reaches_exit_and_stop_counts_as_a_stop() -> None:
    bars = [(100.0, 101.5, 99.0, 100.0), (100.0, 100.1, 99.9, 100.0)]
    result = estimate_games(candles(bars), SETTINGS, side="long", every_minutes=5)
    assert result.games == 1 and result.reasons["stop_loss"] == 1
    assert result.worst_pnl == D("-0.5") - D("0.09975")  # 100 → 99.5, taker both ways


def test_a_gap_past_the_stop_fills_at_the_open() -> None:
    bars = [(100.0, 100.2, 99.9, 100.0), (99.0, 99.2, 98.8, 99.1)]
    result = estimate_games(candles(bars), SETTINGS, side="long", every_minutes=5)
    assert result.reasons["stop_loss"] == 1
    assert result.worst_pnl == D("-1.0") - D("0.0995")  # filled at 99.0, not 99.5


def test_sell_games_mirror_buy_games() -> None:
    mirrored = [(200 - o, 200 - low, 200 - h, 200 - c) for o, h, low, c in BARS]
    result = estimate_games(candles(mirrored), SETTINGS, side="short", every_minutes=2)
    assert result.reasons == {"target": 1, "stop_loss": 1, "timeout": 1}
    assert result.wins == 2


def test_a_lower_fee_level_earns_more_on_the_same_moves() -> None:
    result = estimate_games(candles(BARS), SETTINGS, side="long", every_minutes=2)
    by_level = {row.fee_level: row.total_pnl for row in result.by_fee_level}
    assert by_level["VIP0"] == result.total_pnl
    assert by_level["VIP0"] < by_level["VIP5"] < by_level["VIP9"]


def test_no_whole_game_fits_in_the_range() -> None:
    result = estimate_games(candles(BARS[:1]), SETTINGS, side="long", every_minutes=2)
    assert result.games == 0 and result.avg_pnl == 0
