"""The strategy interface shared by simulation, dry-run and live.

A strategy turns closed candles into a *target*: the position it wants after this bar's close, as a
signed fraction of equity committed as margin (+1 = long with all equity, -0.5 = short with half,
0 = flat, None/NaN = no opinion, keep what you have). Optional stop-loss / take-profit price levels go
with an entry. The engine (simulation) or the runtime (dry-run, live) turns a target into intents
against the actual position with `intents_for` — one rule for all three run types.

Two ways to ask, which must agree bar for bar (tests check it for every built-in strategy):
- `signals(candles)`: vectorised over a whole range (numpy/pandas) — the simulator's fast path;
- `step(state, bar)`: one closed candle at a time with a small JSON-safe state dict — the runtime's path.
  The state is plain JSON (lists, floats, ints, None), well under 50 KB, and stored between ticks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from marketdata.series import Candles
from trading.params import ParamSchema

# Decisions compare computed indicators with a relative dead band: the vectorised and the one-bar-at-a-time
# paths compute the same indicator with different float rounding (~1e-15), and a tie (flat prices) must
# not flip a decision in one path only.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Bar:
    """One closed candle. ts = open time, epoch ms UTC."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0


@dataclass(frozen=True)
class Decision:
    target: float | None = None  # None: no opinion this bar
    stop_loss: float | None = None  # absolute price levels for an entry, optional
    take_profit: float | None = None


@dataclass
class Signals:
    """Vectorised decisions: one row per bar; NaN means no decision / no level."""

    target: np.ndarray
    stop_loss: np.ndarray | None = None
    take_profit: np.ndarray | None = None

    def decision_at(self, index: int) -> Decision:
        def level(column: np.ndarray | None) -> float | None:
            if column is None or math.isnan(column[index]):
                return None
            return float(column[index])

        target = float(self.target[index])
        return Decision(None if math.isnan(target) else target, level(self.stop_loss), level(self.take_profit))


@dataclass(frozen=True)
class PositionView:
    """What the strategy is told about its position. `target` is the target the position was last set
    to (0 when flat); the runtime keeps it with the bot's state and resets it when a stop closes it."""

    side: Literal["long", "short"] | None = None
    amount: float = 0.0
    entry_price: float | None = None
    target: float = 0.0

    @property
    def is_flat(self) -> bool:
        return self.side is None or self.amount == 0


@dataclass(frozen=True)
class Intent:
    action: Literal["enter_long", "enter_short", "exit", "resize"]
    size: float = 0.0  # fraction of equity committed as margin (0, 1]; 0 for exit
    stop_loss: float | None = None
    take_profit: float | None = None
    target: float = 0.0  # the signed target this intent realises


def intents_for(decision: Decision, position: PositionView) -> list[Intent]:
    """What to do about a decision given the position: the one rule used by simulation and runtime.

    - no target, or the target the position already has: nothing;
    - target 0: exit;
    - other sign than the position (or flat): exit if needed, then enter with |target|;
    - same sign, other size: resize to |target| (grid strategies).
    """
    target = decision.target
    current = 0.0 if position.is_flat else position.target
    if target is None or target == current:
        return []
    if target == 0:
        return [Intent("exit", target=0.0)]
    intents: list[Intent] = []
    if current != 0 and (current > 0) != (target > 0):
        intents.append(Intent("exit", target=0.0))
    if current == 0 or (current > 0) != (target > 0):
        action = "enter_long" if target > 0 else "enter_short"
        intents.append(Intent(action, abs(target), decision.stop_loss, decision.take_profit, target))
    else:
        intents.append(Intent("resize", abs(target), decision.stop_loss, decision.take_profit, target))
    return intents


class Strategy:
    """Base class. Subclasses set name/title/description/params and implement signals + step."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[ParamSchema]

    def __init__(self, settings: Mapping[str, Any] | None = None):
        self.settings: dict[str, Any] = self.params.resolve(settings or {})

    # -- sizing shared by every strategy -------------------------------------------------------------
    @property
    def size(self) -> float:
        return float(self.settings.get("size_pct", 100.0)) / 100.0

    def warmup(self) -> int:
        """Bars of history needed before the first decision."""
        return 1

    # -- vectorised ----------------------------------------------------------------------------------
    def signals(self, candles: Candles) -> Signals:
        raise NotImplementedError

    # -- one closed candle at a time -----------------------------------------------------------------
    def initial_state(self) -> dict[str, Any]:
        return {"last_ts": None}

    def step(self, state: dict[str, Any], bar: Bar) -> tuple[dict[str, Any], Decision]:
        """Feed one closed bar. A bar at or before the last one seen is ignored (a repeated tick)."""
        if state.get("last_ts") is not None and bar.ts <= state["last_ts"]:
            return state, Decision()
        new_state = dict(state)
        new_state["last_ts"] = bar.ts
        return self._step(new_state, bar)

    def _step(self, state: dict[str, Any], bar: Bar) -> tuple[dict[str, Any], Decision]:
        raise NotImplementedError

    def on_candle(
        self, state: dict[str, Any], bar: Bar, position: PositionView
    ) -> tuple[dict[str, Any], list[Intent]]:
        """The runtime's call: new state and the intents for this closed bar."""
        state, decision = self.step(state, bar)
        return state, intents_for(decision, position)


# -- helpers for rules that must give the same answer on arrays and on scalars -------------------------
def above(a: Any, b: Any) -> Any:
    """a > b beyond the dead band (NaN compares False)."""
    return np.asarray(a) > np.asarray(b) + TOLERANCE * np.abs(b)


def below(a: Any, b: Any) -> Any:
    return np.asarray(a) < np.asarray(b) - TOLERANCE * np.abs(b)


def trend_state(fast: Any, slow: Any) -> Any:
    """+1 fast above slow, -1 below, 0 level (or unknown)."""
    return np.where(above(fast, slow), 1, np.where(below(fast, slow), -1, 0))

