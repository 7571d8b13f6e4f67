"""Protections every running bot has, evaluated on each tick and on each closed trade.

Pure functions over a small state record, so they are unit-tested without a database and the
simulation can apply the very same rules:

- max drawdown: equity falls `max_drawdown_pct` % below its peak since START → the bot stops
  (and closes its position);
- stop-loss streak: `stop_after_stop_losses` consecutive trades closed by their stop-loss → the bot stops;
- cooldown: after a losing trade, no new entries for `cooldown_after_loss_minutes`;
- daily loss limit: equity falls `daily_loss_limit_pct` % below the day's starting equity (UTC day) →
  the position is closed and no new entries until the next UTC midnight.

A value of 0 switches a protection off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from trading.params import Param, ParamSchema

HUNDRED = Decimal(100)
STOP_LOSS_EXIT_REASONS = frozenset({"stop_loss", "trailing_stop_loss"})


@dataclass(frozen=True)
class ProtectionSettings:
    max_drawdown_pct: Decimal = Decimal(0)
    stop_after_stop_losses: int = 0
    cooldown_after_loss_minutes: int = 0
    daily_loss_limit_pct: Decimal = Decimal(0)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> ProtectionSettings:
        """Read from a bot's (validated) effective settings; missing keys mean the protection is off."""
        return cls(
            max_drawdown_pct=Decimal(str(settings.get("max_drawdown_pct") or 0)),
            stop_after_stop_losses=int(settings.get("stop_after_stop_losses") or 0),
            cooldown_after_loss_minutes=int(settings.get("cooldown_after_loss_minutes") or 0),
            daily_loss_limit_pct=Decimal(str(settings.get("daily_loss_limit_pct") or 0)),
        )


@dataclass
class ProtectionState:
    """The part of a bot's runtime row the protections read and write."""

    peak_equity: Decimal
    day: date | None
    day_start_equity: Decimal
    consecutive_stop_losses: int = 0
    cooldown_until: datetime | None = None
    paused_until: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """What the protections say now. `stop` wins over everything; `flatten` closes the position."""

    stop: bool = False
    flatten: bool = False
    block_entries: bool = False
    reason: str = ""  # user-facing, set when something triggered now
    triggered: str = ""  # protection name, for events and tests


ALLOW = Verdict()


def _next_utc_midnight(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(0), UTC)


def protections_on_tick(
    settings: ProtectionSettings, state: ProtectionState, *, now: datetime, equity: Decimal
) -> Verdict:
    """Update peak and day bookkeeping with the equity marked at this tick and decide.

    Call before the strategy's decision: a stop or a pause must win over a fresh entry signal.
    """
    state.peak_equity = max(state.peak_equity, equity)
    today = now.astimezone(UTC).date()
    if state.day != today:
        state.day = today
        state.day_start_equity = equity

    if settings.max_drawdown_pct > 0 and state.peak_equity > 0:
        floor = state.peak_equity * (1 - settings.max_drawdown_pct / HUNDRED)
        if equity <= floor:
            drawdown = (state.peak_equity - equity) / state.peak_equity * HUNDRED
            return Verdict(
                stop=True,
                flatten=True,
                triggered="max_drawdown",
                reason=f"Max drawdown reached: equity is {drawdown:.1f}% below its peak "
                f"(limit {settings.max_drawdown_pct}%).",
            )

    if settings.daily_loss_limit_pct > 0 and state.day_start_equity > 0 and not _active(state.paused_until, now):
        floor = state.day_start_equity * (1 - settings.daily_loss_limit_pct / HUNDRED)
        if equity <= floor:
            state.paused_until = _next_utc_midnight(now)
            loss = (state.day_start_equity - equity) / state.day_start_equity * HUNDRED
            return Verdict(
                flatten=True,
                block_entries=True,
                triggered="daily_loss_limit",
                reason=f"Daily loss limit reached: down {loss:.1f}% today (limit {settings.daily_loss_limit_pct}%). "
                "No new trades until 00:00 UTC.",
            )

    if _active(state.paused_until, now) or _active(state.cooldown_until, now):
        return Verdict(block_entries=True)
    return ALLOW


def protections_on_trade_closed(
    settings: ProtectionSettings, state: ProtectionState, *, closed_at: datetime, pnl: Decimal, exit_reason: str
) -> Verdict:
    """Update the stop-loss streak and the cooldown after a trade closed, and decide."""
    if exit_reason in STOP_LOSS_EXIT_REASONS:
        state.consecutive_stop_losses += 1
    else:
        state.consecutive_stop_losses = 0
    if pnl < 0 and settings.cooldown_after_loss_minutes > 0:
        state.cooldown_until = closed_at + timedelta(minutes=settings.cooldown_after_loss_minutes)
    if 0 < settings.stop_after_stop_losses <= state.consecutive_stop_losses:
        return Verdict(
            stop=True,
            flatten=True,
            triggered="stop_loss_streak",
            reason=f"Stopped after {state.consecutive_stop_losses} stop-losses in a row "
            f"(limit {settings.stop_after_stop_losses}).",
        )
    if _active(state.cooldown_until, closed_at):
        return Verdict(
            block_entries=True,
            triggered="cooldown",
            reason=f"Cooling down after a losing trade: no new trades until {state.cooldown_until:%H:%M} UTC.",
        )
    return ALLOW


def _active(until: datetime | None, now: datetime) -> bool:
    return until is not None and now < until


def protection_params() -> ParamSchema:
    """The protection and STOP settings every candle strategy's schema includes (see common_params)."""
    return ParamSchema(
        [
            Param("max_drawdown_pct", "float", 30.0, min=0, max=100, unit="%", step=5, group="protection",
                  label="Max drawdown", description="stop the bot when equity falls this far below its peak; 0 = off"),
            Param("stop_after_stop_losses", "int", 0, min=0, max=100, group="protection",
                  label="Stop after stop-losses",
                  description="stop the bot after this many stop-losses in a row; 0 = off"),
            Param("cooldown_after_loss_minutes", "int", 0, min=0, max=10_080, unit="min", group="protection",
                  label="Cooldown after a loss", description="no new trade for this long after a losing one; 0 = off"),
            Param("daily_loss_limit_pct", "float", 0.0, min=0, max=100, unit="%", step=1, group="protection",
                  label="Daily loss limit",
                  description="close the position and pause until 00:00 UTC after losing this much in a day; 0 = off"),
            Param("capital", "float", 0.0, min=0, max=1e9, unit="quote", group="protection", label="Capital",
                  description="money the bot trades with in dry-run and live-run; 0 = 10,000 (paper) in dry-run, "
                  "the account's free balance at START in live-run"),
            Param("close_position_on_stop", "bool", True, group="protection", label="Close position on STOP",
                  description="on STOP, close the bot's position at market (true) or leave it open (false)"),
        ]
    )
