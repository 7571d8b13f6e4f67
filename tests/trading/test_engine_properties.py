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
