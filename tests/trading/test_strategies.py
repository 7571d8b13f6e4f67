"""Built-in strategies: their behaviour, and the same decisions one candle at a time as vectorised."""

from __future__ import annotations

import json

import numpy as np
import pytest

from marketdata.generator import generate_candles
from marketdata.resample import resample
from tests.trading.simhelpers import bars, flat
from trading.strategies.base import Bar, Decision, PositionView, intents_for
from trading.strategies.grid import grid_update
from trading.strategies.registry import strategy_get

T0 = 1_704_067_200_000


def stream(strategy, candles) -> np.ndarray:
    state = json.loads(json.dumps(strategy.initial_state()))
    out = np.full(len(candles), np.nan)
    for i in range(len(candles)):
        bar = Bar(int(candles.ts[i]), float(candles.open[i]), float(candles.high[i]), float(candles.low[i]),
                  float(candles.close[i]), float(candles.volume[i]))
        state, decision = strategy.step(state, bar)
        state = json.loads(json.dumps(state))  # the runtime stores it as JSON between ticks
        if decision.target is not None:
            out[i] = decision.target
    return out


CASES = [
    ("sma_cross", {}),
    ("sma_cross", {"fast": 5, "slow": 50, "allow_short": True, "size_pct": 50}),
    ("rsi_reversion", {}),
    ("rsi_reversion", {"period": 7, "oversold": 25, "overbought": 75, "allow_short": True}),
    ("bollinger_scalp", {}),
    ("bollinger_scalp", {"period": 10, "std_mult": 1.5, "allow_short": True}),
    ("grid", {}),
    ("grid", {"levels": 4, "spacing_pct": 0.3}),
]


@pytest.fixture(scope="module")
def market():
    return generate_candles("ETH/USDT", start_ms=T0, count=12_000, seed=3)


@pytest.mark.parametrize(("name", "params"), CASES)
def test_one_candle_at_a_time_gives_the_vectorised_decisions(market, name: str, params: dict) -> None:
    strategy = strategy_get(name)(params)
    vectorised = strategy.signals(market).target
    streamed = stream(strategy, market)
    assert np.count_nonzero(~np.isnan(vectorised)) > 5  # the case exercises real decisions
    np.testing.assert_array_equal(vectorised, streamed)


@pytest.mark.parametrize(("name", "params"), CASES)
def test_one_candle_at_a_time_agrees_on_resampled_hour_bars(name: str, params: dict) -> None:
    hours = resample(generate_candles("BTC/USDT", start_ms=T0, count=60 * 24 * 90, seed=5), "1h")
    strategy = strategy_get(name)(params)
    np.testing.assert_array_equal(strategy.signals(hours).target, stream(strategy, hours))


@pytest.mark.parametrize("name", ["sma_cross", "rsi_reversion", "bollinger_scalp", "grid"])
def test_state_is_small_json_even_with_the_largest_windows(market, name: str) -> None:
    cls = strategy_get(name)
    largest = {p.name: p.max for p in cls.params.params.values() if p.type == "int" and p.name != "leverage"}
    if name == "sma_cross":
        largest["fast"] = min(largest["fast"], largest["slow"] - 1)
    strategy = cls(largest)
    state = strategy.initial_state()
    for i in range(1200):
        state, _ = strategy.step(state, Bar(int(market.ts[i]), 1, 1, 1, float(market.close[i])))
    assert len(json.dumps(state)) < 50_000


def test_a_repeated_candle_is_ignored() -> None:
    strategy = strategy_get("grid")({})
    state, first = strategy.step(strategy.initial_state(), Bar(T0, 100, 100, 100, 100))
    again, repeated = strategy.step(state, Bar(T0, 100, 100, 100, 100))
    assert first.target is not None and repeated == Decision() and again == state


def test_sma_cross_goes_long_on_a_cross_up_and_flat_on_a_cross_down() -> None:
    closes = [10] * 5 + [11, 12, 13] + [9, 8, 7]
    candles = bars([flat(c) for c in closes])
    target = strategy_get("sma_cross")({"fast": 2, "slow": 4}).signals(candles).target
    assert target[5] == 1.0  # fast average rises above the slow one on the first up-close
    assert target[8] == 0.0  # and falls below it on the first down-close
    assert np.isnan(target[[0, 1, 2, 3, 4, 6, 7, 9, 10]]).all()


def test_sma_cross_gives_no_signal_on_flat_prices() -> None:
    candles = bars([flat(60000.17)] * 100)
    assert np.isnan(strategy_get("sma_cross")({}).signals(candles).target).all()


def test_rsi_reversion_buys_the_recovery_from_oversold_and_sells_at_overbought() -> None:
    closes = [100, 99, 98, 97, 96, 95, 96.5, 98, 100, 103, 106, 110]
    candles = bars([flat(c) for c in closes])
    target = strategy_get("rsi_reversion")({"period": 3}).signals(candles).target
    decisions = {i: t for i, t in enumerate(target) if not np.isnan(t)}
    assert list(decisions.values()) == [1.0, 0.0]
    entry, leave = decisions
    assert entry < leave


def test_bollinger_scalp_buys_a_close_back_inside_the_lower_band_and_sells_at_the_middle() -> None:
    closes = [100, 101, 100, 99, 100, 101, 100, 99, 100, 101, 90, 95, 99, 101, 102]
    candles = bars([flat(c) for c in closes])
    target = strategy_get("bollinger_scalp")({"period": 5, "std_mult": 1.5}).signals(candles).target
    entries = [i for i, t in enumerate(target) if t == 1.0]
    leaves = [i for i, t in enumerate(target) if t == 0.0]
    assert entries == [11]  # 90 closed below the band, 95 is back inside
    assert [i for i in leaves if i > 11][:1] == [12]  # 99 crosses up through the middle band (97)


def test_grid_buys_a_lot_per_line_down_and_sells_it_one_line_up() -> None:
    levels, spacing = 4, 0.01
    anchor, lots = grid_update(None, 0, 100.0, levels, spacing)
    assert (anchor, lots) == (100.0, 2)  # starts half invested, centred on the first close
    _, lots = grid_update(anchor, lots, 98.9, levels, spacing)
    assert lots == 3  # crossed the 99 line downwards
    _, lots = grid_update(anchor, lots, 99.5, levels, spacing)
    assert lots == 3  # not yet one line above where it bought
    _, lots = grid_update(anchor, lots, 100.0, levels, spacing)
    assert lots == 2  # back at the line above: the lot is sold
    anchor2, lots = grid_update(anchor, lots, 103.0, levels, spacing)
    assert anchor2 == 103.0 and lots == 2  # left the grid upwards: re-centred


def test_grid_targets_are_fractions_of_the_size() -> None:
    candles = bars([flat(c) for c in [100, 98.9, 98.0, 99.0, 100.0]])
    target = strategy_get("grid")({"levels": 4, "spacing_pct": 1, "size_pct": 80}).signals(candles).target
    np.testing.assert_allclose(target[:5], [0.4, 0.6, 0.8, 0.6, 0.4])


def test_intents_map_a_target_onto_the_position() -> None:
    flat_position = PositionView()
    long_position = PositionView(side="long", amount=1.0, entry_price=100.0, target=1.0)
    assert intents_for(Decision(None), long_position) == []
    assert intents_for(Decision(1.0), long_position) == []
    assert [i.action for i in intents_for(Decision(0.0), long_position)] == ["exit"]
    assert [i.action for i in intents_for(Decision(-1.0), long_position)] == ["exit", "enter_short"]
    assert [i.action for i in intents_for(Decision(0.5), long_position)] == ["resize"]
    entry = intents_for(Decision(1.0, stop_loss=95.0), flat_position)
    assert [(i.action, i.size, i.stop_loss) for i in entry] == [("enter_long", 1.0, 95.0)]


def test_on_candle_returns_state_and_intents_for_the_runtime() -> None:
    strategy = strategy_get("grid")({"levels": 4})
    state, intents = strategy.on_candle(strategy.initial_state(), Bar(T0, 100, 100, 100, 100), PositionView())
    assert [(i.action, i.size) for i in intents] == [("enter_long", 0.5)]
    assert json.loads(json.dumps(state)) == state
