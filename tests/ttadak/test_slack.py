"""The game panel on Slack: signed requests into the Bolt app, presses played on the engine thread.

Transactional: the engine thread has its own database connection and must see committed rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.chat.slack.conftest import SlackHarness, message_text
from tests.ttadak.conftest import PRICE, Player, player_create
from ttadak import host
from ttadak.models import Game, GameState
from users.models import ChatIdentity

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slack_player(slack: SlackHarness, exchange_emulator, exchange_api_base, fast_watch) -> Iterator[Player]:  # noqa: ANN001
    exchange_emulator.exchange.set_price("BTCUSDT", PRICE)
    player = player_create(exchange_emulator)
    ChatIdentity.objects.create(user=player.user, surface="slack", external_user_id="U1TT",
                                team_id=slack.recorder.team_id, chat_id="U1TT")
    try:
        yield player
    finally:
        host.stop_thread_host()


def game_state(game_id: int, *states: str, timeout: float = 10.0) -> Game:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        game = Game.objects.get(pk=game_id)
        if game.state in states:
            return game
        time.sleep(0.02)
    raise AssertionError(f"game {game_id} stayed {game.state}")


def test_buy_game_from_slack_plays_and_the_result_reaches_the_person(slack: SlackHarness, slack_player) -> None:  # noqa: ANN001
    panel = slack.command("U1TT", "ttadak")
    assert "ready to play" in message_text(panel)
    shown = slack.press("U1TT", panel, "BUY GAME")
    assert "sent: both orders are at the exchange" in message_text(shown)
    game = game_state(Game.objects.get().pk, GameState.OPEN)
    assert game.surface == "slack" and game.team_id == slack.recorder.team_id and game.message_id == ""
    slack_player.emulator.exchange.set_price("BTCUSDT", "60400")
    game_state(game.pk, GameState.FINISHED)
    posted = slack.recorder.wait_for(lambda: [c for c in slack.recorder.calls_of("chat.postMessage")
                                              if "target reached" in str(c.params)])
    assert posted[-1].params["channel"] == "U1TT"


def test_the_same_slack_button_twice_plays_one_game(slack: SlackHarness, slack_player) -> None:  # noqa: ANN001
    panel = slack.command("U1TT", "ttadak")
    first = slack.press("U1TT", panel, "SELL GAME")
    again = slack.press("U1TT", panel, "SELL GAME")
    assert "sent" in message_text(first)
    assert "already started" in message_text(again)
    assert Game.objects.count() == 1
