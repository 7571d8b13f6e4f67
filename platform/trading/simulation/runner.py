"""A simulation without the database: candles + strategy + money settings -> trades, equity, metrics.

Used by the simulation service (which persists), `ldp simulate` (which may read a CSV and never touches
the database) and `ldp bench simulate`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketdata.series import Candles
from marketdata.timeframes import iso_ms
from trading.engine import EngineConfig, EngineResult, simulate_signals
from trading.metrics import compute_metrics
from trading.strategies.base import Strategy

ProgressFn = Callable[[int], None]  # percent done, 0-100

TRADES_CSV_HEADER = ("entry_time", "exit_time", "side", "size", "entry_price", "exit_price", "fees", "pnl")


@dataclass
class SimulationResult:
    strategy: str
    settings: dict[str, Any]
    engine: EngineResult
    metrics: dict[str, Any]

    @property
    def candles(self) -> Candles:
        return self.engine.candles

    def trade_rows(self) -> list[dict[str, Any]]:
        """One dict per trade; times are the ISO-8601 UTC open of the fill bar."""
        ts = self.engine.candles.ts
        offset = self.engine.offset
        rows = []
        for trade in self.engine.trades:
            rows.append({
                "entry_time": iso_ms(int(ts[trade.entry_bar - offset])),
                "exit_time": iso_ms(int(ts[trade.exit_bar - offset])) if trade.exit_bar is not None else "",
                "side": trade.side,
                "size": trade.amount,
                "entry_price": trade.entry_price,
                "exit_price": trade.exit_price,
                "fees": trade.fees,
                "pnl": trade.pnl,
                "exit_reason": trade.exit_reason,
            })
        return rows

    def write_trades_csv(self, target: str | Path | io.TextIOBase) -> None:
        handle = open(target, "w", newline="") if isinstance(target, str | Path) else target  # noqa: SIM115
        try:
            writer = csv.writer(handle)
            writer.writerow(TRADES_CSV_HEADER)
            for row in self.trade_rows():
                writer.writerow([row[name] if isinstance(row[name], str) else repr(float(row[name]))
                                 for name in TRADES_CSV_HEADER])
        finally:
            if handle is not target:
                handle.close()


def simulate(
    candles: Candles, strategy: Strategy, *, balance: float = 10_000.0, fee_rate: float = 0.001,
    slippage_bps: float = 0.0, start_index: int = 0, progress: ProgressFn | None = None,
) -> SimulationResult:
    """Run `strategy` over `candles`. Bars before start_index only warm the indicators up.

    Leverage, stop-loss and take-profit come from the strategy's settings.
    """
    settings = strategy.settings
    config = EngineConfig(
        balance=float(balance), fee_rate=float(fee_rate), slippage_bps=float(slippage_bps),
        leverage=int(settings.get("leverage", 1)), stop_loss_pct=float(settings.get("stop_loss_pct", 0.0)),
        take_profit_pct=float(settings.get("take_profit_pct", 0.0)), start_index=start_index,
    )
    config.check()
    if progress:
        progress(5)
    signals = strategy.signals(candles)
    if progress:
        progress(40)
    result = simulate_signals(candles, signals, config)
    if progress:
        progress(80)
    bars = result.candles
    bar_ms = candles.timeframe_ms
    metrics = compute_metrics(
        equity=result.equity, start_balance=config.balance, position=result.position,
        trade_pnls=result.trade_pnls, fees_paid=result.fees_paid,
        bar_ms=bar_ms, range_ms=int(bars.ts[-1] - bars.ts[0]) + bar_ms,
    )
    if progress:
        progress(90)
    return SimulationResult(strategy=strategy.name, settings=dict(settings), engine=result, metrics=metrics)
