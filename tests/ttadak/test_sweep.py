"""Games survive a restart: deadlines and stop levels are in the database; the Celery sweep takes over."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.ttadak.conftest import Player
from tests.ttadak.test_engine import game_when, open_orders, position
from ttadak.engine import GameEngine
from ttadak.models import Game, GameState
from ttadak.sweep import games_due_for_sweep, ttadak_games_sweep

pytestmark = pytest.mark.django_db


def open_game_then_stop_watching(player: Player, play) -> Game:  # noqa: ANN001
    """Press, wait until the game is in play, then end the process's engine (a restart)."""

    async def scenario(engine: GameEngine) -> Game:
        result = await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long",
                                    idempotency_key="t:restart", target=player.target())
        return await game_when(result.game_id, GameState.OPEN)

    return play(scenario)


def test_a_watched_game_is_not_swept(player: Player, play) -> None:
    game = open_game_then_stop_watching(player, play)
    assert game.monitored_until > timezone.now()
    assert games_due_for_sweep() == []


def test_the_sweep_closes_an_unwatched_game_at_its_deadline(player: Player, play) -> None:
    game = open_game_then_stop_watching(player, play)
    past = timezone.now() - timedelta(seconds=30)
    Game.objects.filter(pk=game.pk).update(deadline_at=past, monitored_until=past)
    assert games_due_for_sweep() == [game.pk]
    assert ttadak_games_sweep() == {"timeout": 1}
    game.refresh_from_db()
    assert game.state == GameState.FINISHED and game.close_reason == "timeout"
    assert position(player) == 0 and not open_orders(player)


def test_the_sweep_applies_the_stop_loss_of_an_unwatched_game(player: Player, play) -> None:
    game = open_game_then_stop_watching(player, play)
    Game.objects.filter(pk=game.pk).update(monitored_until=timezone.now() - timedelta(seconds=1))
    player.emulator.exchange.set_price("BTCUSDT", "59000")
    assert ttadak_games_sweep() == {"stop loss": 1}
    game.refresh_from_db()
    assert game.close_reason == "stop_loss" and game.pnl < 0
    assert position(player) == 0


def test_the_sweep_finishes_a_game_whose_exit_filled_while_nobody_watched(player: Player, play) -> None:
    game = open_game_then_stop_watching(player, play)
    Game.objects.filter(pk=game.pk).update(monitored_until=timezone.now() - timedelta(seconds=1))
    player.emulator.exchange.set_price("BTCUSDT", "60500")
    assert ttadak_games_sweep() == {"target": 1}
    game.refresh_from_db()
    assert game.close_reason == "target" and game.pnl > 0 and position(player) == 0


def test_a_process_that_comes_back_watches_its_games_again(player: Player, play) -> None:
    game = open_game_then_stop_watching(player, play)

    async def restarted(engine: GameEngine) -> Game:
        engine.resume_watch([game.pk])
        player.emulator.exchange.set_price("BTCUSDT", "59000")
        return await game_when(game.pk, GameState.FINISHED)

    done = play(restarted)
    assert done.close_reason == "stop_loss" and done.close_price == Decimal("58999.9")
