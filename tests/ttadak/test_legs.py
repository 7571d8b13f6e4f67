"""A leg that fails (exchange fault injection): the other leg is cancelled or its position closed at once,
the user is told why, and no order is left behind at the exchange."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from bots.models import OrderStatus
from tests.ttadak.conftest import Player
from tests.ttadak.test_engine import game_when, open_orders, position, posted_orders
from ttadak.engine import GameEngine
from ttadak.models import Game, GameState

pytestmark = pytest.mark.django_db

ORDER = {"path": "/fapi/v1/order", "method": "POST"}


class LegOrder:
    """Wraps the session's gateway so one side's order leaves a few ms later: it fixes which leg reaches
    the emulator first and so meets an injected fault (the fault itself is the emulator's)."""

    def __init__(self, inner: Any, late_side: str, delay: float = 0.03):
        self.inner, self.late_side, self.delay = inner, late_side, delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def create_order(self, request):  # noqa: ANN001, ANN201
        if request.side == self.late_side:
            await asyncio.sleep(self.delay)
        return await self.inner.create_order(request)


def press_with(player: Player, play, *, late_side: str, fault: dict | None = None,  # noqa: ANN001
               until: tuple[str, ...] = (GameState.FINISHED, GameState.FAILED, GameState.ATTENTION)) -> Game:
    async def scenario(engine: GameEngine) -> Game:
        session = await engine.warm(player.bot.pk)
        session.gateway = LegOrder(session.gateway, late_side)
        if fault:
            player.emulator.faults.add({**ORDER, "times": 1, **fault})
        result = await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long",
                                    idempotency_key="t:legs", target=player.target())
        return await game_when(result.game_id, *until)

    return play(scenario)


def assert_nothing_left(player: Player) -> None:
    assert position(player) == 0
    assert not open_orders(player)


def test_entry_refused_for_margin_cancels_the_exit(player: Player, play) -> None:
    game = press_with(player, play, late_side="sell", fault={"kind": "insufficient_margin"})
    assert game.state == GameState.FAILED and game.close_reason == "leg_failed"
    assert game.entry_order.status == OrderStatus.REJECTED
    assert game.exit_order.status == OrderStatus.CANCELED
    assert game.message.startswith("The entry order failed: Not enough margin")
    assert "exit order was cancelled" in game.message
    assert game.pnl is None
    assert_nothing_left(player)


def test_exit_refused_for_margin_closes_the_filled_entry_at_market(player: Player, play) -> None:
    game = press_with(player, play, late_side="buy", fault={"kind": "insufficient_margin"})
    assert game.state == GameState.FAILED and game.exit_order.status == OrderStatus.REJECTED
    assert game.entry_order.status == OrderStatus.CLOSED
    assert game.close_order.status == OrderStatus.CLOSED and game.close_order.side == "sell"
    assert game.message.startswith("The exit order failed: Not enough margin")
    assert "closed at market" in game.message
    assert game.pnl is not None and game.pnl < 0  # the round trip's spread and fees
    assert_nothing_left(player)


def test_5xx_before_the_entry_was_processed_means_not_placed(player: Player, play) -> None:
    game = press_with(player, play, late_side="sell", fault={"kind": "server_error"})
    assert game.state == GameState.FAILED
    assert game.entry_order.status == OrderStatus.REJECTED
    assert "Not placed (checked with the exchange)" in game.entry_order.last_error
    assert game.exit_order.status == OrderStatus.CANCELED
    assert_nothing_left(player)


def test_5xx_after_the_exit_was_accepted_is_found_and_the_game_plays_on(player: Player, play) -> None:
    game = press_with(player, play, late_side="buy", fault={"kind": "server_error", "when": "after"},
                      until=(GameState.OPEN, GameState.FAILED))
    assert game.state == GameState.OPEN
    assert game.exit_order.status == OrderStatus.OPEN and game.exit_order.exchange_order_id
    assert len(posted_orders(player)) == 2  # found by client order id, never sent twice


def test_dropped_connection_after_the_entry_filled_is_found_and_the_game_plays_on(player: Player, play) -> None:
    game = press_with(player, play, late_side="sell", fault={"kind": "drop", "when": "after"},
                      until=(GameState.OPEN, GameState.FAILED))
    assert game.state == GameState.OPEN and game.entry_order.filled == Decimal("0.002")
    assert len(posted_orders(player)) == 2


def test_dropped_connection_before_the_exit_arrived_closes_the_entry(player: Player, play) -> None:
    game = press_with(player, play, late_side="buy", fault={"kind": "drop"})
    assert game.state == GameState.FAILED
    assert game.exit_order.status == OrderStatus.REJECTED
    assert game.close_order.status == OrderStatus.CLOSED
    assert_nothing_left(player)


def test_a_leg_the_exchange_cannot_confirm_needs_attention_then_the_sweep_resolves_it(player: Player,
                                                                                     play) -> None:
    from ttadak.models import CloseReason

    # The exit's answer is lost and every lookup fails (5xx on GET): its state cannot be known.
    game = press_with(player, play, late_side="buy", fault={"kind": "drop", "when": "after"},
                      until=(GameState.OPEN, GameState.ATTENTION, GameState.FAILED))
    assert game.state == GameState.OPEN  # the lookup found it

    async def lose_everything(engine: GameEngine) -> Game:
        player.emulator.faults.add({"path": "/fapi/v1/order", "kind": "server_error"})
        await engine.end(game.pk, CloseReason.TIMEOUT)
        return await game_when(game.pk, GameState.ATTENTION)

    stuck = play(lose_everything)
    assert "Attention" in stuck.message
    player.emulator.faults.clear()

    async def sweep(engine: GameEngine) -> Game:
        await engine.check_once(game.pk)
        return await game_when(game.pk, GameState.FINISHED)

    done = play(sweep)
    assert done.close_reason == "timeout" and done.pnl is not None
    assert_nothing_left(player)
