"""Hand-computed cases for each simulation rule (docs/simulation.md)."""

from __future__ import annotations

import pytest

from core.errors import ValidationError
from tests.trading.simhelpers import NAN, bars, flat, signals
from trading.engine import EngineConfig, simulate_signals

FEE = 0.001


def test_market_order_decided_on_close_fills_at_next_open_and_pays_fee_on_each_side() -> None:
    candles = bars([flat(100), (100, 112, 99, 110), (110, 121, 109, 118), (120, 125, 119, 121)])
    result = simulate_signals(candles, signals([1, NAN, 0, NAN]), EngineConfig(balance=1000, fee_rate=FEE))

    entry, exit_ = result.fills
    units = 1000 / (100 * (1 + FEE))  # all equity: equity / (price × (1 + fee))
    assert (entry.bar, entry.side, entry.price) == (1, "buy", 100)
    assert entry.amount == pytest.approx(units)
    assert entry.fee == pytest.approx(units * 100 * FEE)
    assert (exit_.bar, exit_.side, exit_.price, exit_.purpose) == (3, "sell", 120, "exit")
    assert exit_.fee == pytest.approx(units * 120 * FEE)
    assert result.final_equity == pytest.approx(units * 120 * (1 - FEE))
    trade = result.trades[0]
    assert trade.pnl == pytest.approx(units * 120 * (1 - FEE) - 1000)
    assert trade.fees == pytest.approx(units * 220 * FEE)


def test_equity_is_marked_to_market_at_each_close() -> None:
    candles = bars([flat(100), (100, 112, 99, 110), (110, 121, 109, 118), (120, 125, 119, 121)])
    result = simulate_signals(candles, signals([1, NAN, 0, NAN]), EngineConfig(balance=1000, fee_rate=FEE))
    units = 1000 / (100 * (1 + FEE))
    assert result.equity[0] == 1000
    assert result.equity[1] == pytest.approx(1000 - units * 100 * FEE + units * 10)
    assert result.equity[2] == pytest.approx(1000 - units * 100 * FEE + units * 18)
    assert list(result.position != 0) == [False, True, True, False]


def test_slippage_moves_market_fills_against_the_taker() -> None:
    candles = bars([flat(100), flat(100), flat(120), flat(120)])
    result = simulate_signals(candles, signals([1, 0, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=0, slippage_bps=10))
    assert result.fills[0].price == pytest.approx(100.1)
    assert result.fills[1].price == pytest.approx(120 * 0.999)


def test_stop_loss_fills_at_its_level_when_a_later_low_touches_it() -> None:
    candles = bars([flat(100), (100, 101, 99, 100), (99, 100, 94, 96), flat(96)])
    result = simulate_signals(candles, signals([1, NAN, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=0, stop_loss_pct=5))
    exit_ = result.fills[-1]
    assert (exit_.bar, exit_.price, exit_.purpose) == (2, 95, "stop_loss")
    assert result.final_equity == pytest.approx(950)


def test_stop_loss_gapped_through_fills_at_that_bars_open() -> None:
    candles = bars([flat(100), (100, 101, 99, 100), (90, 92, 88, 91), flat(91)])
    result = simulate_signals(candles, signals([1, NAN, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=0, stop_loss_pct=5))
    assert (result.fills[-1].price, result.fills[-1].purpose) == (90, "stop_loss")
    assert result.final_equity == pytest.approx(900)


def test_take_profit_fills_at_its_level_or_at_a_gap_open() -> None:
    touch = bars([flat(100), (100, 101, 99, 100), (105, 111, 104, 106), flat(106)])
    result = simulate_signals(touch, signals([1, NAN, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=0, take_profit_pct=10))
    assert (result.fills[-1].price, result.fills[-1].purpose) == (110, "take_profit")

    gap = bars([flat(100), (100, 101, 99, 100), (115, 116, 114, 115), flat(115)])
    result = simulate_signals(gap, signals([1, NAN, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=0, take_profit_pct=10))
    assert (result.fills[-1].price, result.fills[-1].purpose) == (115, "take_profit")


def test_a_bar_touching_both_stop_and_target_counts_the_stop_first() -> None:
    candles = bars([flat(100), (100, 101, 99, 100), (100, 111, 94, 100), flat(100)])
    result = simulate_signals(candles, signals([1, NAN, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=0, stop_loss_pct=5, take_profit_pct=10))
    assert (result.fills[-1].price, result.fills[-1].purpose) == (95, "stop_loss")


def test_stops_are_active_in_the_fill_bar_after_its_open() -> None:
    candles = bars([flat(100), (100, 101, 94, 100), flat(100)])
    result = simulate_signals(candles, signals([1, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=0, stop_loss_pct=5))
    assert (result.fills[-1].bar, result.fills[-1].purpose) == (1, "stop_loss")


def test_short_stop_loss_and_take_profit_mirror_the_long_ones() -> None:
    candles = bars([flat(100), (100, 101, 99, 100), (100, 106, 99, 104), flat(104)])
    result = simulate_signals(candles, signals([-1, NAN, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=0, stop_loss_pct=5))
    assert (result.fills[-1].side, result.fills[-1].price, result.fills[-1].purpose) == ("buy", 105, "stop_loss")
    assert result.final_equity == pytest.approx(950)

    down = bars([flat(100), (100, 101, 99, 100), (95, 96, 89, 91), flat(91)])
    result = simulate_signals(down, signals([-1, NAN, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=0, take_profit_pct=10))
    assert (result.fills[-1].price, result.fills[-1].purpose) == (90, "take_profit")
    assert result.final_equity == pytest.approx(1100)


def test_leveraged_long_is_liquidated_when_the_loss_reaches_the_margin() -> None:
    candles = bars([flat(100), (100, 101, 99, 100), (95, 96, 89, 91), flat(91)])
    result = simulate_signals(candles, signals([0.5, NAN, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=FEE, leverage=10))
    units = 500 / (100 * (0.1 + FEE))
    margin = units * 100 / 10
    liq = result.fills[-1]
    assert (liq.bar, liq.price, liq.purpose) == (2, 90, "liquidation")  # entry × (1 - 1/10)
    assert margin + units * 100 * FEE == pytest.approx(500)
    assert result.final_equity == pytest.approx(1000 - units * 100 * FEE - margin - units * 90 * FEE)


def test_liquidation_of_an_all_in_position_leaves_zero_not_a_debt() -> None:
    candles = bars([flat(100), (100, 101, 99, 100), (80, 81, 70, 75), flat(75)])
    result = simulate_signals(candles, signals([1, NAN, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=FEE, leverage=5))
    assert result.fills[-1].purpose == "liquidation"
    assert result.fills[-1].price == pytest.approx(80)
    assert result.final_equity == 0
    assert result.equity.min() >= 0


def test_unleveraged_short_is_liquidated_at_twice_the_entry() -> None:
    candles = bars([flat(100), (100, 101, 99, 100), (150, 210, 149, 205), flat(205)])
    result = simulate_signals(candles, signals([-1, NAN, NAN, NAN]), EngineConfig(balance=1000, fee_rate=0))
    assert (result.fills[-1].price, result.fills[-1].purpose) == (200, "liquidation")
    assert result.final_equity == 0


def test_open_position_is_closed_at_the_last_close_with_a_fee() -> None:
    candles = bars([flat(100), (100, 101, 99, 100), (100, 131, 99, 130)])
    result = simulate_signals(candles, signals([1, NAN, NAN]), EngineConfig(balance=1000, fee_rate=FEE))
    units = 1000 / (100 * (1 + FEE))
    last = result.fills[-1]
    assert (last.bar, last.price, last.purpose) == (2, 130, "end_of_range")
    assert result.final_equity == pytest.approx(units * 130 * (1 - FEE))
    assert result.equity[-1] == pytest.approx(result.final_equity)


def test_decision_on_the_last_bar_is_not_filled() -> None:
    candles = bars([flat(100), flat(100), flat(100)])
    result = simulate_signals(candles, signals([NAN, NAN, 1]), EngineConfig(balance=1000))
    assert result.fills == [] and result.trades == []


def test_decisions_during_warm_up_are_ignored_and_equity_starts_at_the_range() -> None:
    candles = bars([flat(100), flat(100), flat(100), flat(110), flat(120)])
    result = simulate_signals(candles, signals([1, NAN, NAN, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=0, start_index=2))
    assert result.trades == []
    assert len(result.equity) == 3 and result.offset == 2


def test_reversal_closes_then_opens_the_other_side_at_the_same_open() -> None:
    candles = bars([flat(100), flat(100), flat(110), flat(100), flat(100)])
    result = simulate_signals(candles, signals([1, -1, NAN, NAN, NAN]),
                              EngineConfig(balance=1000, fee_rate=0))
    purposes = [(f.bar, f.side, f.purpose) for f in result.fills]
    assert purposes[:3] == [(1, "buy", "entry"), (2, "sell", "exit"), (2, "sell", "entry")]
    assert [t.side for t in result.trades] == ["long", "short"]
    assert result.final_equity == pytest.approx(1100 + 1100 / 110 * 10)


def test_resize_buys_more_and_sells_part_at_the_open() -> None:
    candles = bars([flat(100), flat(100), flat(100), flat(100), flat(100)])
    result = simulate_signals(candles, signals([0.5, 1.0, 0.25, 0, NAN]), EngineConfig(balance=1000, fee_rate=0))
    assert [(f.purpose, round(f.amount, 6)) for f in result.fills] == [
        ("entry", 5.0), ("increase", 5.0), ("reduce", 7.5), ("exit", 2.5)]
    assert len(result.trades) == 1 and result.trades[0].amount == pytest.approx(10)
    assert result.final_equity == pytest.approx(1000)


def test_strategy_levels_override_percentages_and_a_new_entry_after_a_stop_is_taken() -> None:
    candles = bars([flat(100), (100, 101, 97, 100), (100, 101, 99, 100), flat(100), flat(100)])
    result = simulate_signals(
        candles, signals([1, NAN, 1, NAN, NAN], stop_loss=[97.5, NAN, NAN, NAN, NAN]),
        EngineConfig(balance=1000, fee_rate=0, stop_loss_pct=50),
    )
    assert [(f.bar, f.purpose) for f in result.fills] == [(1, "entry"), (1, "stop_loss"), (3, "entry"),
                                                           (4, "end_of_range")]
    assert result.fills[1].price == 97.5


def test_bad_money_settings_are_refused() -> None:
    with pytest.raises(ValidationError) as excinfo:
        simulate_signals(bars([flat(1), flat(1)]), signals([NAN, NAN]), EngineConfig(balance=0))
    assert excinfo.value.field == "balance"
