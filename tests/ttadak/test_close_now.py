"""CLOSE NOW on the game panel: shown only while a game is in play, asks first, ends the game at market
with reason manual — in the core (terminal), Telegram (emulator, real aiogram) and Slack (signed requests).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync

from bots.models import RunType
from chat.telegram.routers import actions
from tests.chat.conftest import make_driver
from tests.chat.slack.conftest import SlackHarness, button_value, message_text
from tests.chat.telegram.conftest import Harness, running_bot
from tests.ttadak.conftest import PRICE, Player, game_state, player_create
from ttadak import host
from ttadak.models import Game, GameState
from users.models import ChatIdentity


def position(player: Player) -> Decimal:
    info = player.emulator.exchange.accounts[player.account].positions.get("BTCUSDT")
    return info.amount if info else Decimal(0)


def open_orders(player: Player) -> list:
    return [o for o in player.emulator.exchange.orders_of(player.account) if o.status == "NEW"]


def assert_closed_by_hand(game: Game, player: Player) -> None:
    assert game.state == GameState.FINISHED and game.close_reason == "manual"
    assert game.exit_order.status == "canceled" and game.close_order.reduce_only
    assert game.pnl is not None
    assert position(player) == 0 and not open_orders(player)


def labels(screen) -> list[str]:  # noqa: ANN001
    return [button.label for button in screen.buttons()]


# --- the core (terminal: a sync surface, the press and the close on this process's engine thread) ----------------


@pytest.fixture
def terminal_player(exchange_emulator, exchange_api_base, chat_state, fast_watch) -> Iterator[Player]:  # noqa: ANN001
    exchange_emulator.exchange.set_price("BTCUSDT", PRICE)
    player = player_create(exchange_emulator)
    ChatIdentity.objects.create(user=player.user, surface="terminal", external_user_id="9100", chat_id="9100")
    try:
        yield player
    finally:
        host.stop_thread_host()


@pytest.mark.django_db(transaction=True)
def test_close_now_shows_only_while_a_game_is_in_play_and_ends_it_by_hand(terminal_player) -> None:  # noqa: ANN001
    player = terminal_player
    chat = make_driver("terminal", "9100")
    chat.command("ttadak")
    assert "CLOSE NOW" not in labels(chat.screen)
    chat.press("BUY GAME")
    game = game_state(Game.objects.get().pk, GameState.OPEN)
    chat.press("Refresh")
    assert "in play" in chat.text and "CLOSE NOW" in labels(chat.screen)

    chat.press("CLOSE NOW")
    assert chat.screen.title == f"Close BUY GAME #{game.pk} now?" and "real money" in chat.text
    chat.press("No")
    assert "CLOSE NOW" in labels(chat.screen) and game_state(game.pk, GameState.OPEN)
    chat.press("CLOSE NOW")
    chat.press("Yes, close now")
    assert f"BUY GAME #{game.pk}:" in chat.text and "closed by you" in chat.text
    assert "CLOSE NOW" not in labels(chat.screen) and "Position: none" in chat.text
    assert_closed_by_hand(game_state(game.pk, GameState.FINISHED), player)


@pytest.mark.django_db(transaction=True)
def test_close_now_after_the_game_ended_shows_how_it_ended(terminal_player) -> None:  # noqa: ANN001
    player = terminal_player
    chat = make_driver("terminal", "9100")
    chat.command("ttadak")
    chat.press("SELL GAME")
    game = game_state(Game.objects.get().pk, GameState.OPEN)
    chat.press("Refresh")
    chat.press("CLOSE NOW")
    player.emulator.exchange.set_price("BTCUSDT", "59600")  # the exit fills first
    game_state(game.pk, GameState.FINISHED)
    reply = chat.press("Yes, close now")
    assert "had already ended" in reply.alert or "has already ended" in reply.alert
    assert "target reached" in chat.text and "CLOSE NOW" not in labels(chat.screen)
    assert Game.objects.get(pk=game.pk).close_reason == "target"


@pytest.mark.django_db(transaction=True)
def test_close_now_after_stop_still_ends_the_game(terminal_player) -> None:  # noqa: ANN001
    player = terminal_player
    chat = make_driver("terminal", "9100")
    chat.command("ttadak")
    chat.press("BUY GAME")
    game = game_state(Game.objects.get().pk, GameState.OPEN)
    chat.press("Refresh")
    chat.press("STOP")
    assert "stopped" in chat.text and "CLOSE NOW" in labels(chat.screen) and "BUY GAME" not in labels(chat.screen)
    chat.press("CLOSE NOW")
    chat.press("Yes, close now")
    assert "closed by you" in chat.text
    assert_closed_by_hand(game_state(game.pk, GameState.FINISHED), player)


@pytest.mark.django_db
def test_someone_elses_close_now_button_closes_nothing(chat_state) -> None:  # noqa: ANN001
    from django.utils import timezone

    from bots.models import BotRun
    from chat import payloads
    from tests.factories import ChatIdentityFactory, UserFactory
    from tests.ttadak.conftest import ttadak_bot_create

    owner = UserFactory()
    owners_bot = ttadak_bot_create(user=owner, run_type=RunType.DRY_RUN)
    run = BotRun.objects.create(subscribed_bot=owners_bot, run_type=RunType.DRY_RUN, status="running")
    now = timezone.now()
    owners_game = Game.objects.create(
        subscribed_bot=owners_bot, run=run, run_type=RunType.DRY_RUN, idempotency_key="t:owner:1", side="long",
        state=GameState.OPEN, exchange="binanceusdm", symbol="BTC/USDT:USDT", leverage=20, amount=Decimal("0.002"),
        reference_price=PRICE, exit_limit_price=Decimal("60300"), pressed_at=now, deadline_at=now)
    mallory = UserFactory()
    ChatIdentityFactory(user=mallory, surface="terminal", external_user_id="9101", chat_id="9101")
    mallorys_bot = ttadak_bot_create(user=mallory, run_type=RunType.DRY_RUN)
    chat = make_driver("terminal", "9101")

    # Validly signed buttons of mallory's own, naming the owner's bot or the owner's game.
    for code in ("ttx", "ttx!"):
        for bot_id, alert in ((owners_bot.pk, "No such bot among yours."), (mallorys_bot.pk, "No such game.")):
            forged = payloads.encode(code, (bot_id, owners_game.pk), owner_id=mallory.pk, issued_at=timezone.now(),
                                     nonce=payloads.new_nonce())
            reply = chat.press_payload(forged)
            assert reply.alert == alert and reply.screen is None
    assert Game.objects.get(pk=owners_game.pk).state == GameState.OPEN


# --- Telegram: the core's action router; the close runs on the bot's own loop, the engine redraws the panel ------


@pytest.fixture
def telegram_player(exchange_emulator, exchange_api_base, chat_state, fast_watch, monkeypatch) -> Player:  # noqa: ANN001
    monkeypatch.setattr(actions, "POLL_INTERVAL_SECONDS", 0.05)
    exchange_emulator.exchange.set_price("BTCUSDT", PRICE)
    player = player_create(exchange_emulator)
    ChatIdentity.objects.create(user=player.user, surface="telegram", external_user_id="777", chat_id="777")
    return player


@pytest.mark.django_db
def test_close_now_on_telegram_edits_the_panel_with_the_result(telegram_player) -> None:  # noqa: ANN001
    player = telegram_player

    async def scenario(h: Harness) -> None:
        alice = h.emu.user(777)
        panel = await h.say(alice, "/ttadak")
        assert "CLOSE NOW" not in {b["text"] for b in panel.buttons}
        alice.press(panel, "BUY GAME")
        shown = await h.emu.wait_for(lambda: (m := h.emu.messages[(777, panel.message_id)])
                                     and "in play" in m.text and m)
        button = shown.button("CLOSE NOW")["callback_data"]
        assert button.startswith("a:ttx|") and len(button.encode()) <= 64
        confirm = await h.tap(alice, shown, "CLOSE NOW")
        assert confirm.message_id == panel.message_id and "now?" in confirm.text
        closing = await h.tap(alice, confirm, "Yes, close now")
        assert closing.message_id == panel.message_id
        done = await h.emu.wait_for(lambda: (m := h.emu.messages[(777, panel.message_id)])
                                    and "closed by you" in m.text and m, timeout=15)
        assert "CLOSE NOW" not in {b["text"] for b in done.buttons} and "Position: none" in done.text

    async def main() -> None:
        async with running_bot() as harness:
            await scenario(harness)

    async_to_sync(main)()
    game = Game.objects.select_related("exit_order", "close_order").get()
    assert game.surface == "telegram"
    assert_closed_by_hand(game, player)


# --- Slack: signed requests into the Bolt app, the close on the Slack process's engine thread ---------------------



@pytest.mark.django_db(transaction=True)
def test_close_now_on_slack_edits_the_panel_with_the_result(slack: SlackHarness, slack_player) -> None:  # noqa: ANN001
    panel = slack.command("U1TT", "ttadak")
    with pytest.raises(AssertionError):
        button_value(panel, "CLOSE NOW")
    shown = slack.press("U1TT", panel, "BUY GAME")
    game = game_state(Game.objects.get().pk, GameState.OPEN)
    assert button_value(shown, "CLOSE NOW").startswith("ttx|")
    confirm = slack.press("U1TT", shown, "CLOSE NOW")
    assert f"Close BUY GAME #{game.pk} now?" in message_text(confirm)
    done = slack.press("U1TT", confirm, "Yes, close now")
    assert "closed by you" in message_text(done)
    with pytest.raises(AssertionError):
        button_value(done, "CLOSE NOW")
    assert_closed_by_hand(game_state(game.pk, GameState.FINISHED), slack_player)
