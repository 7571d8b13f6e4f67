"""Protections: each rule on its own, on plain state (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from trading.runtime.protections import (
    ProtectionSettings,
    ProtectionState,
    protections_on_tick,
    protections_on_trade_closed,
)

NOON = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def fresh_state(equity: str = "1000") -> ProtectionState:
    return ProtectionState(peak_equity=Decimal(equity), day=NOON.date(), day_start_equity=Decimal(equity))


def test_settings_from_a_bots_settings_default_to_off() -> None:
    settings = ProtectionSettings.from_settings({"fast": 10})
    assert settings == ProtectionSettings()
    state = fresh_state()
    verdict = protections_on_tick(settings, state, now=NOON, equity=Decimal("1"))
    assert not verdict.stop and not verdict.block_entries


def test_max_drawdown_stops_and_flattens_when_equity_falls_below_peak_by_the_limit() -> None:
    settings = ProtectionSettings(max_drawdown_pct=Decimal("10"))
    state = fresh_state()
    assert not protections_on_tick(settings, state, now=NOON, equity=Decimal("1200")).stop
    assert state.peak_equity == Decimal("1200")
    assert not protections_on_tick(settings, state, now=NOON, equity=Decimal("1081")).stop
    verdict = protections_on_tick(settings, state, now=NOON, equity=Decimal("1080"))
    assert verdict.stop and verdict.flatten
    assert verdict.triggered == "max_drawdown"
    assert "10.0% below its peak" in verdict.reason


def test_stop_loss_streak_stops_after_n_consecutive_stop_losses_and_other_exits_reset_it() -> None:
    settings = ProtectionSettings(stop_after_stop_losses=3)
    state = fresh_state()
    loss = Decimal("-5")
    assert not protections_on_trade_closed(settings, state, closed_at=NOON, pnl=loss, exit_reason="stop_loss").stop
    assert not protections_on_trade_closed(settings, state, closed_at=NOON, pnl=loss, exit_reason="stop_loss").stop
    # A trade closed by the strategy's own signal breaks the streak.
    assert not protections_on_trade_closed(settings, state, closed_at=NOON, pnl=loss, exit_reason="signal").stop
    assert state.consecutive_stop_losses == 0
    for _ in range(2):
        protections_on_trade_closed(settings, state, closed_at=NOON, pnl=loss, exit_reason="stop_loss")
    verdict = protections_on_trade_closed(settings, state, closed_at=NOON, pnl=loss, exit_reason="stop_loss")
    assert verdict.stop and verdict.triggered == "stop_loss_streak"
    assert "3 stop-losses in a row" in verdict.reason


def test_cooldown_blocks_entries_after_a_losing_trade_until_it_expires() -> None:
    settings = ProtectionSettings(cooldown_after_loss_minutes=30)
    state = fresh_state()
    won = protections_on_trade_closed(settings, state, closed_at=NOON, pnl=Decimal("3"), exit_reason="signal")
    assert not won.block_entries and state.cooldown_until is None

    verdict = protections_on_trade_closed(settings, state, closed_at=NOON, pnl=Decimal("-3"), exit_reason="signal")
    assert verdict.block_entries and verdict.triggered == "cooldown"
    assert state.cooldown_until == NOON + timedelta(minutes=30)
    equity = Decimal("997")
    assert protections_on_tick(settings, state, now=NOON + timedelta(minutes=29), equity=equity).block_entries
    assert not protections_on_tick(settings, state, now=NOON + timedelta(minutes=30), equity=equity).block_entries


def test_daily_loss_limit_flattens_and_pauses_until_next_utc_midnight() -> None:
    settings = ProtectionSettings(daily_loss_limit_pct=Decimal("5"))
    state = fresh_state()
    assert not protections_on_tick(settings, state, now=NOON, equity=Decimal("951")).block_entries
    verdict = protections_on_tick(settings, state, now=NOON, equity=Decimal("950"))
    assert verdict.flatten and verdict.block_entries and not verdict.stop
    assert verdict.triggered == "daily_loss_limit"
    assert state.paused_until == datetime(2024, 3, 2, tzinfo=UTC)
    # Later the same day: still paused, and it does not trigger (or notify) again.
    later = protections_on_tick(settings, state, now=NOON + timedelta(hours=6), equity=Decimal("900"))
    assert later.block_entries and later.triggered == ""
    # The next UTC day starts from that day's equity.
    next_day = protections_on_tick(settings, state, now=datetime(2024, 3, 2, 0, 1, tzinfo=UTC), equity=Decimal("900"))
    assert not next_day.block_entries
    assert state.day_start_equity == Decimal("900")


def test_max_drawdown_wins_over_the_daily_loss_limit() -> None:
    settings = ProtectionSettings(max_drawdown_pct=Decimal("5"), daily_loss_limit_pct=Decimal("5"))
    state = fresh_state()
    verdict = protections_on_tick(settings, state, now=NOON, equity=Decimal("900"))
    assert verdict.stop and verdict.triggered == "max_drawdown"
