"""Properties of the engine over generated prices and decisions (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.simhelpers import bars, flat, signals
from trading.engine import EngineConfig, simulate_signals

targets = st.lists(st.sampled_from([float("nan"), 0.0, 0.25, 0.5, 1.0, -0.5, -1.0]), min_size=2, max_size=60)


@settings(max_examples=150, deadline=None)
@given(
    decisions=targets,
    price=st.floats(min_value=0.01, max_value=1e6),
    leverage=st.integers(min_value=1, max_value=125),
    stop=st.sampled_from([0.0, 0.5, 0.9]),
    take=st.sampled_from([0.0, 1.0, 50.0]),
    slippage=st.sampled_from([0.0]),
)
def test_zero_fees_and_a_flat_price_give_zero_pnl(decisions, price, leverage, stop, take, slippage) -> None:
    candles = bars([flat(price)] * len(decisions))
    config = EngineConfig(balance=1000, fee_rate=0, slippage_bps=slippage, leverage=leverage,
                          stop_loss_pct=stop, take_profit_pct=take)
    result = simulate_signals(candles, signals(decisions), config)
    assert np.allclose(result.equity, 1000, rtol=1e-9, atol=0)
    assert all(abs(trade.pnl) < 1e-6 for trade in result.trades)


@st.composite
def price_paths(draw):
    steps = draw(st.lists(st.floats(min_value=-0.3, max_value=0.3), min_size=2, max_size=60))
    rows, close = [], 100.0
    for step in steps:
        open_ = close * float(np.exp(draw(st.floats(min_value=-0.2, max_value=0.2))))
        close = open_ * float(np.exp(step))
        high = max(open_, close) * float(np.exp(draw(st.floats(min_value=0, max_value=0.2))))
        low = min(open_, close) * float(np.exp(-draw(st.floats(min_value=0, max_value=0.2))))
        rows.append((open_, high, low, close))
    return rows


@settings(max_examples=200, deadline=None)
@given(path=price_paths(), data=st.data(), fee=st.sampled_from([0.0, 0.001, 0.01]),
       slippage=st.sampled_from([0.0, 5.0, 50.0]), stop=st.sampled_from([0.0, 2.0, 20.0]),
       take=st.sampled_from([0.0, 3.0]))
def test_equity_never_goes_negative_without_leverage(path, data, fee, slippage, stop, take) -> None:
    decisions = data.draw(st.lists(st.sampled_from([float("nan"), 0.0, 0.5, 1.0, -1.0]),
                                   min_size=len(path), max_size=len(path)))
    config = EngineConfig(balance=1000, fee_rate=fee, slippage_bps=slippage, leverage=1,
                          stop_loss_pct=stop, take_profit_pct=take)
    result = simulate_signals(bars(path), signals(decisions), config)
    assert result.equity.min() >= 0
    assert result.final_equity >= 0
    assert abs(sum(t.fees for t in result.trades) - sum(f.fee for f in result.fills)) < 1e-6


def _both_paths(candles, sig, config):
    from trading.engine import _simulate_book, _simulate_plain

    n = len(candles)
    events = np.flatnonzero(~np.isnan(sig.target[: n - 1]))
    events = events[events >= config.start_index]
    decided = sig.target[events]
    size = float(np.max(decided)) if len(decided) and np.max(decided) > 0 else 0.0
    return (_simulate_plain(candles, events, decided, size, config),
            _simulate_book(candles, sig, config, events))


def _assert_same(fast, general) -> None:
    np.testing.assert_allclose(fast.equity, general.equity, rtol=1e-9)
    np.testing.assert_array_equal(fast.position != 0, general.position != 0)
    assert [(f[0], f[1], f[5]) for f in fast.fill_rows] == [(f[0], f[1], f[5]) for f in general.fill_rows]
    np.testing.assert_allclose([f[3] for f in fast.fill_rows], [f[3] for f in general.fill_rows], rtol=1e-12)
    np.testing.assert_allclose(fast.trade_pnls, general.trade_pnls, rtol=1e-7, atol=1e-9)
    assert abs(fast.fees_paid - general.fees_paid) <= 1e-9 * max(1.0, general.fees_paid)


def test_vectorised_fast_path_matches_the_general_path_on_a_long_run() -> None:
    from marketdata.generator import generate_candles
    from trading.strategies.registry import strategy_get

    candles = generate_candles("BTC/USDT", start_ms=1_704_067_200_000, count=50_000, seed=11)
    sig = strategy_get("sma_cross")({"fast": 10, "slow": 30, "size_pct": 70}).signals(candles)
    fast, general = _both_paths(candles, sig, EngineConfig(balance=1000, fee_rate=0.001, slippage_bps=3,
                                                           start_index=100))
    assert len(general.trades) > 500
    _assert_same(fast, general)


@settings(max_examples=150, deadline=None)
@given(path=price_paths(), data=st.data(), fee=st.sampled_from([0.0, 0.001]), slippage=st.sampled_from([0.0, 7.0]),
       size=st.sampled_from([0.3, 1.0]))
def test_fast_path_matches_the_general_path(path, data, fee, slippage, size) -> None:
    decisions = data.draw(st.lists(st.sampled_from([float("nan"), 0.0, size]), min_size=len(path),
                                   max_size=len(path)))
    fast, general = _both_paths(bars(path), signals(decisions),
                                EngineConfig(balance=1000, fee_rate=fee, slippage_bps=slippage))
    _assert_same(fast, general)
