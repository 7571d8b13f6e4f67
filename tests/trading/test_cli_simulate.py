"""`ldp simulate` and `ldp bench simulate`, run in-process through the real CLI entry point."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ldp.cli import main
from marketdata.generator import generate_candles
from marketdata.series import candles_write_csv

T0 = 1_704_067_200_000  # 2024-01-01


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "btc.csv"
    candles_write_csv(generate_candles("BTC/USDT", start_ms=T0, count=20 * 1440, seed=4), path)
    return path


def test_simulate_over_a_csv_needs_no_database(csv_file, tmp_path, capsys) -> None:
    # No django_db mark: any database query would fail this test.
    trades_out, chart = tmp_path / "trades.csv", tmp_path / "chart.png"
    code = main(["simulate", "--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=30",
                 "--csv", str(csv_file), "--timeframe", "1h", "--start", "2024-01-03", "--fee", "0.001",
                 "--slippage-bps", "2", "--balance", "5000", "--trades-out", str(trades_out),
                 "--chart", str(chart), "--no-progress"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    metrics = json.loads(out[-1])
    assert {"total_return", "annualised_return", "max_drawdown", "sharpe", "win_rate", "profit_factor", "trades",
            "fees_paid", "exposure_time"} <= set(metrics)
    assert any(line.startswith("total return") for line in out)
    assert chart.read_bytes()[:4] == b"\x89PNG"
    with trades_out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["entry_time", "exit_time", "side", "size", "entry_price", "exit_price", "fees", "pnl"]
    assert len(rows) == metrics["trades"] > 0
    first = datetime.fromisoformat(rows[0]["entry_time"].replace("Z", "+00:00"))
    assert first >= datetime(2024, 1, 3, 1, tzinfo=UTC) and first.minute == 0  # an hour bar's open
    pnl = sum(Decimal(row["pnl"]) for row in rows)
    assert abs(pnl - Decimal(metrics["net_profit"])) < Decimal("0.001")
    assert Decimal(metrics["start_balance"]) == 5000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["--strategy", "sma_cross", "--param", "fast=-1"], "fast must be a whole number between 2 and 500"),
        (["--strategy", "sma_cross", "--start", "2024-01-10", "--end", "2024-01-05"], "end must be after start"),
        (["--strategy", "sma_cross", "--start", "2025-01-01"], "no candles in the requested range"),
        (["--strategy", "sma_cross", "--leverage", "500"], "leverage must be a whole number between 1 and 125"),
    ],
)
def test_simulate_refuses_bad_input_with_a_clear_message(csv_file, capsys, argv, message) -> None:
    code = main(["simulate", "--csv", str(csv_file), "--no-progress", *argv])
    assert code == 2
    assert message in capsys.readouterr().err


def test_simulate_refuses_a_range_above_the_maximum(csv_file, capsys, settings) -> None:
    settings.SIMULATION_MAX_CANDLES = 1000
    assert main(["simulate", "--strategy", "grid", "--csv", str(csv_file), "--no-progress"]) == 2
    assert "the maximum is 1,000" in capsys.readouterr().err


@pytest.mark.django_db
def test_simulate_over_stored_candles_reads_the_candle_store(capsys) -> None:
    from marketdata.services import candles_generate

    candles_generate(symbols=["ETH/USDT"], days=6, end=datetime(2024, 3, 1, tzinfo=UTC))
    code = main(["simulate", "--strategy", "rsi_reversion", "--symbol", "ETH/USDT", "--timeframe", "15m",
                 "--start", "2024-02-25", "--end", "2024-03-01", "--no-progress"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert "SYNTHETIC DATA" in "\n".join(out)
    assert json.loads(out[-1])["bars"] == 5 * 24 * 4  # 2024-02-25 to 03-01: five days of 15m bars


@pytest.mark.django_db
def test_simulate_over_an_unknown_stored_symbol_says_so(capsys) -> None:
    code = main(["simulate", "--strategy", "sma_cross", "--symbol", "DOGE/USDT", "--start", "2024-01-01",
                 "--end", "2024-01-02", "--no-progress"])
    assert code == 2 and "no market data for DOGE/USDT" in capsys.readouterr().err


def test_bench_simulate_prints_a_table_and_json_figures_last(capsys) -> None:
    assert main(["bench", "simulate", "--candles", "20000", "--repeat", "1"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(out[-1])
    assert set(figures) == {"candles", "seconds", "candles_per_s", "peak_mb"}
    assert figures["candles"] == 20000 and figures["peak_mb"] > 0
    assert any(line.startswith("candles / s") for line in out)
