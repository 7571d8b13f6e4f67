"""The game engine against the exchange emulator: both legs together, the game's end, failed legs."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from bots.models import Order, OrderStatus, Trade
from core.errors import Conflict
from tests.ttadak.conftest import PRICE, Player
from ttadak.engine import GameEngine
from ttadak.models import Game, GameState

pytestmark = pytest.mark.django_db

ORDER_PATH = "/fapi/v1/order"


async def game_when(game_id: int, *states: str, timeout: float = 10.0) -> Game:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        game = await sync_to_async(Game.objects.select_related("entry_order", "exit_order", "close_order").get)(
            pk=game_id)
        if game.state in states:
            return game
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"game {game_id} is {game.state}, expected {states}")
        await asyncio.sleep(0.02)


def posted_orders(player: Player) -> list:
    return [r for r in player.emulator.exchange.requests(path=ORDER_PATH) if r.method == "POST"]


def position(player: Player) -> Decimal:
    info = player.emulator.exchange.accounts[player.account].positions.get("BTCUSDT")
    return info.amount if info else Decimal(0)


def open_orders(player: Player) -> list:
    return [o for o in player.emulator.exchange.orders_of(player.account) if o.status == "NEW"]


def test_buy_game_sends_entry_and_exit_together_and_is_in_play(player: Player, play) -> None:
    async def scenario(engine: GameEngine) -> Game:
        result = await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long",
                                    idempotency_key="t:1:a", target=player.target())
        assert not result.duplicate
        return await game_when(result.game_id, GameState.OPEN)

    game = play(scenario)
    arrivals = posted_orders(player)
    assert [r.form["side"] for r in arrivals] in (["BUY", "SELL"], ["SELL", "BUY"])
    assert {r.form["type"] for r in arrivals} == {"MARKET", "LIMIT"}
    # 10 % of margin at 20x: the exit sells 0.5 % above the reference price.
    assert game.reference_price == PRICE and game.exit_limit_price == Decimal("60300.0")
    assert game.entry_order.status == OrderStatus.CLOSED and game.exit_order.status == OrderStatus.OPEN
    # Stop loss: 20 % of margin at 20x is 1 % below the entry fill (the ask, one tick up).
    assert game.entry_price == Decimal("60000.1")
    assert game.stop_loss_price == Decimal("59400.1")
    assert position(player) == Decimal("0.002")
    assert Trade.objects.get(pk=game.trade_id).is_open


def test_exit_fill_finishes_the_game_with_pnl_after_exchange_fees(player: Player, play) -> None:
    async def scenario(engine: GameEngine) -> Game:
        result = await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long",
                                    idempotency_key="t:1:b", target=player.target())
        await game_when(result.game_id, GameState.OPEN)
        player.emulator.exchange.set_price("BTCUSDT", "60400")
        return await game_when(result.game_id, GameState.FINISHED)

    game = play(scenario)
    assert game.close_reason == "target"
    # 0.002 × (60 300 − 60 000.1) = 0.59980 gross; fees 0.05 % of 120.0002 + 0.02 % of 120.6 (emulator: VIP0).
    assert game.gross_pnl == Decimal("0.59980")
    assert game.fees == Decimal("0.06000010") + Decimal("0.02412000")
    assert game.pnl == game.gross_pnl - game.fees
    assert position(player) == 0 and not open_orders(player)
    trade = Trade.objects.get(pk=game.trade_id)
    assert not trade.is_open and trade.realized_pnl == game.pnl and trade.exit_reason == "target"


def test_stop_loss_cancels_the_exit_and_closes_at_market(player: Player, play) -> None:
    async def scenario(engine: GameEngine) -> Game:
        result = await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long",
                                    idempotency_key="t:1:c", target=player.target())
        await game_when(result.game_id, GameState.OPEN)
        player.emulator.exchange.set_price("BTCUSDT", "59300")
        return await game_when(result.game_id, GameState.FINISHED)

    game = play(scenario)
    assert game.close_reason == "stop_loss" and game.pnl < 0
    assert game.exit_order.status == OrderStatus.CANCELED
    assert game.close_order.status == OrderStatus.CLOSED and game.close_order.reduce_only
    assert position(player) == 0 and not open_orders(player)


def test_time_limit_closes_a_game_that_reached_neither_level(exchange_emulator, exchange_api_base, db,  # noqa: ANN001
                                                             fast_watch, play) -> None:
    from tests.ttadak.conftest import player_create

    exchange_emulator.exchange.set_price("BTCUSDT", PRICE)
    player = player_create(exchange_emulator, max_duration_s=1)

    async def scenario(engine: GameEngine) -> Game:
        result = await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="short",
                                    idempotency_key="t:1:d", target=player.target())
        return await game_when(result.game_id, GameState.FINISHED)

    game = play(scenario)
    assert game.close_reason == "timeout" and game.side == "short"
    assert game.close_order.side == "buy" and position(player) == 0 and not open_orders(player)


def test_double_tap_with_the_same_press_key_starts_one_game(player: Player, play) -> None:
    async def scenario(engine: GameEngine) -> list:
        return await asyncio.gather(*(engine.press(
            user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long", idempotency_key="t:1:tap",
            target=player.target()) for _ in range(3)))

    results = play(scenario)
    assert len({r.game_id for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False, True, True]
    assert Game.objects.count() == 1
    assert len(posted_orders(player)) == 2


def test_a_second_press_while_a_game_is_in_play_is_refused(player: Player, play) -> None:
    async def scenario(engine: GameEngine) -> None:
        first = await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long",
                                   idempotency_key="t:1:e", target=player.target())
        await game_when(first.game_id, GameState.OPEN)
        with pytest.raises(Conflict, match="still in play"):
            await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="short",
                               idempotency_key="t:1:f", target=player.target())

    play(scenario)
    assert Game.objects.count() == 1 and Order.objects.count() == 2
    assert len(posted_orders(player)) == 2  # the refused press's signed legs never left


def test_both_legs_leave_only_after_the_intents_are_committed(player: Player, play, monkeypatch) -> None:
    import time

    from ttadak.services import games

    committed: list[int] = []
    persist = games.game_press_persist

    def slow_persist(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - a slow database: the legs wait, signed
        time.sleep(0.2)
        result = persist(*args, **kwargs)
        committed.append(time.perf_counter_ns())
        return result

    monkeypatch.setattr(games, "game_press_persist", slow_persist)

    async def scenario(engine: GameEngine) -> Game:
        result = await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long",
                                    idempotency_key="t:1:slow", target=player.target())
        return await game_when(result.game_id, GameState.OPEN)

    play(scenario)
    arrivals = [r.perf_ns for r in posted_orders(player)]
    assert len(arrivals) == 2 and min(arrivals) > committed[0]


def test_aged_signatures_are_renewed_on_the_same_rows_and_a_new_price_prepares_new_ones(player: Player, play,
                                                                                            monkeypatch) -> None:
    from ttadak import ahead
    from ttadak import engine as engine_module

    ahead.panel_shown(subscribed_bot_id=player.bot.pk, user_id=player.user.pk,
                      keys={"long": "t:aged:L", "short": "t:aged:S"})

    async def scenario(engine: GameEngine) -> None:
        session = await engine.warm(player.bot.pk)
        await asyncio.sleep(0.01)
        rows, _ = session.ahead["long"]
        price = rows.plan.reference_price
        signed_at = {leg.client_order_id: session.gateway.signed_ahead[leg.client_order_id].at for leg in rows.legs}
        monkeypatch.setattr(engine_module, "SIGN_AHEAD_AGAIN_SECONDS", 0.0)  # every signature is due again
        engine._sign_ahead(session)
        assert session.ahead["long"][0] is rows  # the same rows (nothing about them ages)…
        assert all(session.gateway.signed_ahead[cid].at > at for cid, at in signed_at.items())  # …signed anew
        session.feed.last = price + 10
        engine._sign_ahead(session)
        moved = session.ahead["long"][0]
        assert moved is not rows and moved.plan.reference_price == price + 10

    play(scenario)


def test_someone_elses_bot_cannot_be_played(player: Player, play) -> None:
    from tests.factories import UserFactory

    mallory = UserFactory()

    async def scenario(engine: GameEngine) -> None:
        with pytest.raises(Conflict):
            await engine.press(user_id=mallory.pk, subscribed_bot_id=player.bot.pk, side="long",
                               idempotency_key="t:m:1", target=player.target())

    play(scenario)
    assert not Game.objects.exists()


def test_the_presses_of_a_shown_panel_are_signed_ahead_and_a_press_only_sends_them(player: Player, play) -> None:
    import time

    from ttadak import ahead

    ahead.panel_shown(subscribed_bot_id=player.bot.pk, user_id=player.user.pk,
                      keys={"long": "t:ahead:L", "short": "t:ahead:S"})

    async def scenario(engine: GameEngine) -> tuple[set, int, int]:
        session = await engine.warm(player.bot.pk)
        assert len(session.ahead) == 1  # one button per turn of the loop: a press waits for one at most
        await asyncio.sleep(0.01)
        signed = {cid: entry.request.side for cid, entry in session.gateway.signed_ahead.items()}
        assert set(session.ahead) == {"long", "short"} and len(signed) == 4  # two legs of each button
        await asyncio.sleep(0.05)
        prepared = session.ahead["long"][0]  # its rows too, values prepared: the commit only runs statements
        pressed_ms = int(time.time() * 1000)
        result = await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long",
                                    idempotency_key="t:ahead:L", target=player.target())
        assert result.game_id == prepared.game.pk and [leg.pk for leg in prepared.legs] == [
            prepared.game.entry_order_id, prepared.game.exit_order_id]
        game = await game_when(result.game_id, GameState.OPEN)
        await engine.end(game.pk, "manual")
        other = await engine.press(user_id=player.user.pk, subscribed_bot_id=player.bot.pk, side="long",
                                   idempotency_key="t:not-on-the-panel", target=player.target())
        await game_when(other.game_id, GameState.OPEN)
        return set(signed), pressed_ms, other.game_id

    signed, pressed_ms, other_id = play(scenario)
    first, second = Game.objects.order_by("pk")
    legs = [first.entry_order, first.exit_order]
    by_cid = {r.form["newClientOrderId"]: r.form for r in posted_orders(player)}
    assert {leg.client_order_id for leg in legs} <= signed
    assert all(int(by_cid[leg.client_order_id]["timestamp"]) < pressed_ms for leg in legs)  # signed before the tap
    # A press the panel did not announce is signed at the press, as before.
    assert all(int(by_cid[leg.client_order_id]["timestamp"]) >= pressed_ms
               for leg in (second.entry_order, second.exit_order))
    assert second.pk == other_id and second.entry_order.status == OrderStatus.CLOSED
