"""The game panel end to end on Telegram: the Bot API emulator, real aiogram polling, the exchange emulator."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from bots.models import BotState
from chat.telegram.routers import actions
from tests.chat.telegram.conftest import Harness, running_bot
from tests.ttadak.conftest import PRICE, player_create
from ttadak.models import Game, GameState
from users.models import ChatIdentity

pytestmark = pytest.mark.django_db


@pytest.fixture
def telegram_player(exchange_emulator, exchange_api_base, chat_state, fast_watch, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setattr(actions, "POLL_INTERVAL_SECONDS", 0.05)
    exchange_emulator.exchange.set_price("BTCUSDT", PRICE)
    player = player_create(exchange_emulator, start=False)
    ChatIdentity.objects.create(user=player.user, surface="telegram", external_user_id="777", chat_id="777")
    return player


def run(scenario) -> None:  # noqa: ANN001
    async def main() -> None:
        async with running_bot() as harness:
            await scenario(harness)

    async_to_sync(main)()


def test_start_then_buy_game_then_the_result_edits_the_panel_in_place(telegram_player) -> None:  # noqa: ANN001
    player = telegram_player

    async def scenario(h: Harness) -> None:
        alice = h.emu.user(777, username="alice")
        panel = await h.say(alice, "/ttadak")
        assert "Ttadak" in panel.text and "stopped" in panel.text
        panel = await h.tap(alice, panel, "START")
        assert "ready to play" in panel.text and "BTC/USDT:USDT" in panel.text
        assert {"BUY GAME", "SELL GAME"} <= {b["text"] for b in panel.buttons}
        buy = panel.button("BUY GAME")["callback_data"]
        assert len(buy.encode()) <= 64
        query_id = alice.press(panel, "BUY GAME")
        answer = await h.emu.wait_for(lambda: h.emu.callback_answers.get(query_id))
        assert "sent" in answer["text"]
        shown = await h.emu.wait_for(lambda: "in play" in h.emu.messages[(777, panel.message_id)].text
                                     and h.emu.messages[(777, panel.message_id)])
        assert "exit 60,300.00" in shown.text
        player.emulator.exchange.set_price("BTCUSDT", "60400")
        done = await h.emu.wait_for(lambda: "target reached" in h.emu.messages[(777, panel.message_id)].text
                                    and h.emu.messages[(777, panel.message_id)], timeout=15)
        assert "after fees" in done.text and "Since START: 1 games, 1 won" in done.text
        assert done.message_id == panel.message_id  # edited in place, no new message

    run(scenario)
    game = Game.objects.get()
    assert game.state == GameState.FINISHED and game.surface == "telegram" and game.pnl > 0


def test_a_redelivered_or_double_tapped_button_plays_one_game(telegram_player) -> None:  # noqa: ANN001
    player = telegram_player
    from ttadak.services.activation import ttadak_start

    ttadak_start(user=player.user, subscribed_bot_id=player.bot.pk)

    async def scenario(h: Harness) -> None:
        bob = h.emu.user(777)
        panel = await h.say(bob, "/ttadak")
        data = panel.button("SELL GAME")["callback_data"]
        first, second = bob.press_data(panel, data), bob.press_data(panel, data)
        answers = await h.emu.wait_for(lambda: (a := [h.emu.callback_answers.get(q) for q in (first, second)])
                                       and all(a) and a)
        texts = sorted(answer["text"] for answer in answers)
        assert any("sent" in text for text in texts)
        assert any("already started" in text or "still in play" in text for text in texts)

    run(scenario)
    assert Game.objects.count() == 1
    assert len([r for r in player.emulator.exchange.requests(path="/fapi/v1/order") if r.method == "POST"]) == 2


def test_a_forged_game_button_plays_nothing(telegram_player) -> None:  # noqa: ANN001
    player = telegram_player

    async def scenario(h: Harness) -> None:
        mallory = h.emu.user(778)
        welcome = await h.say(mallory, "/start")
        answer = await h.tap_data(mallory, welcome, f"a:tg|L|{player.bot.pk}|abcdef|AAAAAAAA")
        assert answer["text"] == "This button is not valid. Here is the menu."

    run(scenario)
    assert not Game.objects.exists()
    player.bot.refresh_from_db()
    assert player.bot.state == BotState.STOPPED


def test_a_press_from_a_known_person_skips_the_chat_session_but_not_the_checks(telegram_player,  # noqa: ANN001
                                                                                 monkeypatch) -> None:
    from asgiref.sync import sync_to_async

    from chat.telegram import middlewares
    from ttadak.services.activation import ttadak_start
    from users.models import User

    player = telegram_player
    ttadak_start(user=player.user, subscribed_bot_id=player.bot.pk)
    sessions_for_presses = []
    original = middlewares.SessionMiddleware.__call__

    async def counting(self, handler, event, data):  # noqa: ANN001, ANN202
        if event.callback_query is not None and event.callback_query.data.startswith("a:tg|"):
            sessions_for_presses.append(event.callback_query.id)
        return await original(self, handler, event, data)

    monkeypatch.setattr(middlewares.SessionMiddleware, "__call__", counting)
    set_status = sync_to_async(lambda status: User.objects.filter(pk=player.user.pk).update(status=status))

    async def scenario(h: Harness) -> None:
        carol = h.emu.user(777)
        panel = await h.say(carol, "/ttadak")  # drawing the panel remembers carol's account
        await set_status("blocked")
        refused = carol.press(panel, "BUY GAME")
        answer = await h.emu.wait_for(lambda: h.emu.callback_answers.get(refused))
        assert answer["text"] == "Your account cannot play right now."
        assert refused not in sessions_for_presses  # decided on the fast path, by the press's own check
        await set_status("active")
        # The refused press left nothing, so the same button plays; the refusal made the process forget
        # carol's account, so this press takes the full path (chat session resolved) once more.
        played = carol.press(panel, "BUY GAME")
        answer = await h.emu.wait_for(lambda: h.emu.callback_answers.get(played))
        assert "sent" in answer["text"]

    run(scenario)
    assert Game.objects.count() == 1


def test_a_press_is_played_from_the_raw_update_before_aiogram_dispatches_it_and_answered_once(
        telegram_player, monkeypatch) -> None:  # noqa: ANN001
    """The lane (chat.telegram.lanes) plays a known person's press from the getUpdates answer itself:
    its orders are out before aiogram has parsed and dispatched the update, which then changes nothing."""
    import time

    from aiogram import Dispatcher

    from ttadak import telegram as ttadak_telegram
    from ttadak.services.activation import ttadak_start

    player = telegram_player
    ttadak_start(user=player.user, subscribed_bot_id=player.bot.pk)
    dispatched: dict[str, int] = {}
    original = Dispatcher.feed_update

    async def feed_update(self, bot, update, **kwargs):  # noqa: ANN001, ANN202
        if update.callback_query is not None:
            dispatched.setdefault(update.callback_query.id, time.perf_counter_ns())
        return await original(self, bot, update, **kwargs)

    monkeypatch.setattr(Dispatcher, "feed_update", feed_update)
    presses: list[str] = []

    async def scenario(h: Harness) -> None:
        dave = h.emu.user(777)
        panel = await h.say(dave, "/ttadak")  # drawing the panel remembers dave's account
        presses.append(dave.press(panel, "BUY GAME"))
        answer = await h.emu.wait_for(lambda: h.emu.callback_answers.get(presses[0]))
        assert "sent" in answer["text"]
        await h.emu.wait_for(lambda: presses[0] in dispatched)
        await h.say(dave, "/help")  # a later update: the press's dispatch is over by now
        answers = [c for c in h.emu.calls_of("answerCallbackQuery")
                   if str(c.params.get("callback_query_id")) == presses[0]]
        assert len(answers) == 1

    run(scenario)
    game = Game.objects.get()
    timings = game.timings
    assert timings["persisted_ns"] < timings["written_ns"] < timings["answered_ns"] < dispatched[presses[0]]
    assert not ttadak_telegram._claimed  # the dispatch found the claim and dropped it
