"""START / STOP of a Ttadak bot, warming in the chat process, and dry-run games on the paper account."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bots.models import BotRun, BotState, Order, RunStatus, RunType
from core.errors import ApplicationError, Conflict
from tests.ttadak.conftest import PRICE, player_create, ttadak_bot_create
from tests.ttadak.test_engine import game_when, posted_orders
from ttadak.engine import GameEngine
from ttadak.models import GameState
from ttadak.services.activation import ttadak_start, ttadak_stop

pytestmark = pytest.mark.django_db


@pytest.fixture
def emulator(exchange_emulator, exchange_api_base, fast_watch):  # noqa: ANN001, ANN201
    exchange_emulator.exchange.set_price("BTCUSDT", PRICE)
    return exchange_emulator


def test_start_opens_a_run_and_stop_ends_it_with_the_games_totals(emulator) -> None:  # noqa: ANN001
    player = player_create(emulator)
    assert player.bot.state == BotState.RUNNING
    run = BotRun.objects.get(subscribed_bot=player.bot)
    assert run.status == RunStatus.RUNNING and run.run_type == RunType.LIVE
    stopped = ttadak_stop(user=player.user, subscribed_bot_id=player.bot.pk)
    assert stopped.state == BotState.STOPPED
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED and run.metrics["games"] == 0


def test_start_refuses_simulation_and_unconfirmed_live(emulator) -> None:  # noqa: ANN001
    player = player_create(emulator, start=False)
    player.bot.run_type = RunType.SIMULATION
    player.bot.save()
    with pytest.raises(Conflict, match="set to simulation"):
        ttadak_start(user=player.user, subscribed_bot_id=player.bot.pk)
    player.bot.run_type = RunType.LIVE
    player.bot.save()
    player.user.live_trading_confirmed_at = None
    player.user.save()
    with pytest.raises(Conflict, match="real money"):
        ttadak_start(user=player.user, subscribed_bot_id=player.bot.pk)


def test_other_bots_are_not_ttadak(emulator) -> None:  # noqa: ANN001
    from core.errors import NotFound
    from tests.factories import SubscribedBotFactory

    other = SubscribedBotFactory()
    with pytest.raises(NotFound):
        ttadak_start(user=other.user, subscribed_bot_id=other.pk)


def test_warming_a_bot_above_the_markets_leverage_limit_puts_it_in_error(emulator, play) -> None:  # noqa: ANN001
    emulator.exchange.set_price("ETHUSDT", "3000")
    player = player_create(emulator, symbol="ETH/USDT", leverage=120, order_amount=0.01)

    async def scenario(engine: GameEngine) -> None:
        with pytest.raises(ApplicationError, match="leverage"):
            await engine.warm(player.bot.pk)

    play(scenario)
    player.bot.refresh_from_db()
    assert player.bot.state == BotState.ERROR and "leverage" in player.bot.state_reason


def test_an_amount_below_the_market_minimum_is_refused_when_warming(emulator, play) -> None:  # noqa: ANN001
    player = player_create(emulator, order_amount=0.0001)

    async def scenario(engine: GameEngine) -> None:
        with pytest.raises(ApplicationError, match="below BTC/USDT:USDT's minimum"):
            await engine.warm(player.bot.pk)

    play(scenario)


def test_a_stopped_bot_cannot_be_played(emulator, play) -> None:  # noqa: ANN001
    player = player_create(emulator)

    async def scenario(engine: GameEngine) -> None:
        await engine.warm(player.bot.pk)
        from asgiref.sync import sync_to_async

        await sync_to_async(ttadak_stop)(user=player.user, subscribed_bot_id=player.bot.pk)
        with pytest.raises(Conflict, match="not started"):
            await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long",
                               idempotency_key="t:stopped", target=player.target())

    play(scenario)


def test_settings_changed_after_warming_apply_to_the_next_press(emulator, play) -> None:  # noqa: ANN001
    from asgiref.sync import sync_to_async

    from bots.services import subscribed_bot_settings_update

    player = player_create(emulator)

    async def scenario(engine: GameEngine):  # noqa: ANN202
        await engine.warm(player.bot.pk)
        await sync_to_async(subscribed_bot_settings_update)(user=player.user, subscribed_bot_id=player.bot.pk,
                                                            changes={"leverage": 50})
        result = await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long",
                                    idempotency_key="t:lev", target=player.target())
        return await game_when(result.game_id, GameState.OPEN)

    game = play(scenario)
    assert game.leverage == 50 and game.exit_limit_price == Decimal("60120.0")  # 10 % / 50x = 0.2 %
    assert emulator.exchange.accounts[player.account].leverage["BTCUSDT"] == 50


def test_dry_run_plays_on_the_paper_account_with_live_prices(emulator, play) -> None:  # noqa: ANN001
    user_player = player_create(emulator, start=False)
    user = user_player.user
    dry = ttadak_bot_create(user=user, run_type=RunType.DRY_RUN)
    ttadak_start(user=user, subscribed_bot_id=dry.pk)

    async def scenario(engine: GameEngine):  # noqa: ANN202
        result = await engine.press(user_id=user.pk, subscribed_bot_id=dry.pk, side="long",
                                    idempotency_key="t:dry", target=user_player.target())
        await game_when(result.game_id, GameState.OPEN)
        emulator.exchange.set_price("BTCUSDT", "60301")
        return await game_when(result.game_id, GameState.FINISHED)

    game = play(scenario)
    assert game.run_type == RunType.DRY_RUN and game.close_reason == "target"
    # Paper fills: entry at the live last price (taker), exit at its limit (maker), the user's VIP0 fees.
    assert game.entry_price == PRICE and game.close_price == Decimal("60300.0")
    assert game.fees == Decimal("0.002") * PRICE * Decimal("0.0005") + Decimal("0.002") * Decimal("60300.0") * \
        Decimal("0.0002")
    assert posted_orders(user_player) == []  # nothing reached the exchange
    assert set(Order.objects.filter(run_id=game.run_id).values_list("run_type", flat=True)) == {"dry_run"}
