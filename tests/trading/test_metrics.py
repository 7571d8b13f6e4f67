from __future__ import annotations

import math

import numpy as np
import pytest

from trading.metrics import compute_metrics

HOUR = 3_600_000
YEAR = int(365.25 * 86_400_000)


def metrics(equity, position=None, pnls=(), fees=0.0, range_ms=None):
    equity = np.asarray(equity, dtype=float)
    return compute_metrics(
        equity=equity, start_balance=100.0,
        position=np.asarray(position if position is not None else np.zeros(len(equity))),
        trade_pnls=list(pnls), fees_paid=fees, bar_ms=HOUR, range_ms=range_ms or len(equity) * HOUR,
    )


def test_returns_drawdown_and_trade_statistics_by_hand() -> None:
    m = metrics([110, 99, 121, 120], position=[1, 1, 0, 0], pnls=[10, -11, 22, -1], fees=1.234567891,
                range_ms=YEAR // 2)
    assert m["total_return"] == pytest.approx(0.2)
    assert m["annualised_return"] == pytest.approx(1.2**2 - 1)  # half a year: compounded over two halves
    assert m["max_drawdown"] == pytest.approx(0.1)  # 110 -> 99
    assert m["win_rate"] == 0.5
    assert m["profit_factor"] == pytest.approx(32 / 12)
    assert m["trades"] == 4
    assert m["fees_paid"] == "1.23456789"
    assert m["exposure_time"] == 0.5
    assert (m["final_equity"], m["net_profit"]) == ("120.00000000", "20.00000000")
    assert m["total_return_pct"] == pytest.approx(20.0) and m["max_drawdown_pct"] == pytest.approx(10.0)


def test_sharpe_is_mean_over_std_of_bar_returns_annualised() -> None:
    equity = [101, 100.5, 102, 101.8]
    returns = np.diff(np.concatenate(([100.0], equity))) / np.concatenate(([100.0], equity[:-1]))
    expected = returns.mean() / returns.std(ddof=1) * math.sqrt(YEAR / HOUR)
    assert metrics(equity)["sharpe"] == pytest.approx(expected)


def test_no_trades_and_flat_equity_give_neutral_figures() -> None:
    m = metrics([100, 100, 100])
    assert (m["total_return"], m["max_drawdown"], m["sharpe"], m["trades"]) == (0.0, 0.0, 0.0, 0)
    assert m["win_rate"] is None and m["profit_factor"] is None and m["win_rate_pct"] is None


def test_only_winning_trades_have_no_profit_factor_and_a_wipe_out_is_minus_one() -> None:
    assert metrics([105], pnls=[5])["profit_factor"] is None
    wiped = metrics([50, 0], pnls=[-100])
    assert wiped["total_return"] == -1.0 and wiped["annualised_return"] == -1.0 and wiped["max_drawdown"] == 1.0
