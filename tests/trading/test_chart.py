from __future__ import annotations

from marketdata.generator import generate_candles
from marketdata.resample import resample
from tests.trading.simhelpers import bars, flat
from trading.charts import equity_chart_png
from trading.simulation.chart import chart_heading, render_chart
from trading.simulation.runner import simulate
from trading.strategies.registry import strategy_get

PNG = b"\x89PNG\r\n\x1a\n"


def test_chart_of_generated_candles_says_synthetic_data() -> None:
    candles = resample(generate_candles("BTC/USDT", start_ms=1_704_067_200_000, count=20 * 1440), "1h")
    result = simulate(candles, strategy_get("sma_cross")({}), start_index=30)
    assert chart_heading(result) == "sma_cross · BTC/USDT 1h · SYNTHETIC DATA"
    assert render_chart(result).startswith(PNG)


def test_chart_of_market_candles_does_not() -> None:
    result = simulate(bars([flat(100 + i % 7) for i in range(80)]), strategy_get("sma_cross")({"fast": 2,
                                                                                                 "slow": 5}))
    assert "SYNTHETIC" not in chart_heading(result)
    assert render_chart(result).startswith(PNG)


def test_equity_chart_from_a_stored_curve() -> None:
    curve = [["2024-01-01T00:00:00Z", "10000.00"], ["2024-01-02T00:00:00Z", "10100.50"]]
    assert equity_chart_png(curve, title="Trend Rider", synthetic=True).startswith(PNG)
