"""The game panel on Slack: signed requests into the Bolt app, presses played on the engine thread.

Transactional: the engine thread has its own database connection and must see committed rows.
"""

from __future__ import annotations

import pytest

from tests.chat.slack.conftest import SlackHarness, message_text
from tests.ttadak.conftest import game_state
from ttadak.models import Game, GameState

pytestmark = pytest.mark.django_db(transaction=True)




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
