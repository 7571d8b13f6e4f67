"""The game panel in the conversation core (surface-independent screens), and the simulation screen."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bots.models import RunType
from marketdata.services import candles_generate
from tests.chat.conftest import make_driver
from tests.factories import ChatIdentityFactory, SubscribedBotFactory, UserFactory
from tests.ttadak.conftest import ttadak_bot_create
from ttadak.models import Game

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver(chat_state):  # noqa: ANN001, ANN201
    user = UserFactory()
    ChatIdentityFactory(user=user, surface="terminal", external_user_id="9001", chat_id="9001")
    bot = ttadak_bot_create(user=user, run_type=RunType.DRY_RUN)
    return make_driver("terminal", "9001"), bot


def test_ttadak_without_a_subscription_points_to_the_catalog(chat_state) -> None:  # noqa: ANN001
    user = UserFactory()
    ChatIdentityFactory(user=user, surface="terminal", external_user_id="9002", chat_id="9002")
    SubscribedBotFactory(user=user)  # another kind of bot
    chat = make_driver("terminal", "9002")
    chat.command("ttadak")
    assert "Subscribe to it in the catalog" in chat.text


def test_the_panel_shows_settings_state_and_start(driver) -> None:  # noqa: ANN001
    chat, bot = driver
    chat.command("ttadak")
    assert "stopped · Dry-run" in chat.text
    assert "BTC/USDT:USDT" in chat.text and "20x · 0.002 per game · target +10 % · stop −20 % · max 60 s" in chat.text
    assert "Position: none" in chat.text
    labels = [b.label for b in chat.screen.buttons()]
    assert "START" in labels and "BUY GAME" not in labels


def test_start_shows_the_game_buttons_and_stop_hides_them(driver) -> None:  # noqa: ANN001
    chat, bot = driver
    chat.command("ttadak")
    chat.press("START")
    assert "ready to play" in chat.text
    assert {"BUY GAME", "SELL GAME", "STOP"} <= {b.label for b in chat.screen.buttons()}
    chat.press("STOP")
    assert "stopped" in chat.text and "BUY GAME" not in [b.label for b in chat.screen.buttons()]


def test_the_panel_tells_the_engine_which_presses_its_game_buttons_would_bring(driver) -> None:  # noqa: ANN001
    from chat import payloads
    from chat.context import Actor
    from ttadak import ahead
    from ttadak.chat import press_key

    chat, bot = driver
    chat.command("ttadak")
    chat.press("START")
    buttons = {b.label: b for b in chat.screen.buttons()}
    shown = ahead.shown_panel(bot.pk)
    actor = Actor(surface="terminal", external_user_id="9001")
    assert shown is not None and shown.user_id == bot.user_id
    # The very keys a press of these buttons carries (Telegram / Slack: the button's signature).
    assert shown.keys == {
        "long": press_key(actor, buttons["BUY GAME"].payload.rpartition(payloads.SEPARATOR)[2]),
        "short": press_key(actor, buttons["SELL GAME"].payload.rpartition(payloads.SEPARATOR)[2])}


def test_a_simulation_bot_cannot_start_and_says_why(driver) -> None:  # noqa: ANN001
    chat, bot = driver
    bot.run_type = RunType.SIMULATION
    bot.save()
    chat.command("ttadak")
    reply = chat.press("START")
    assert "set to simulation" in reply.alert


def test_the_bot_card_leads_to_the_game_panel(driver) -> None:  # noqa: ANN001
    chat, bot = driver
    chat.command("bots")
    chat.press(bot.bot.name)
    chat.press("GAME PANEL")
    assert chat.screen.title.startswith("Ttadak")


def test_simulate_answers_does_it_earn_at_my_fee_level(driver) -> None:  # noqa: ANN001
    chat, bot = driver
    candles_generate(symbols=["BTC/USDT"], days=1, end=datetime(2026, 1, 2, tzinfo=UTC))
    chat.command("ttadak")
    chat.press("Simulate")
    chat.press("Last 1 day")
    text = chat.text
    assert "SYNTHETIC demo data" in text and "a game every 5 min" in text
    assert "BUY GAME: 288 games · win rate" in text and "SELL GAME: 288 games" in text
    assert "worst" in text and "at other fee levels: VIP0" in text
    assert "At your fee level (VIP0) these settings" in text
    run = bot.runs.get(run_type="simulation")
    assert run.metrics["buy"]["games"] == 288 and run.parameters["estimator"] == "ttadak"
    assert not Game.objects.exists()


def test_simulate_without_candles_says_what_is_missing(driver) -> None:  # noqa: ANN001
    chat, bot = driver
    chat.command("ttadak")
    chat.press("Simulate")
    reply = chat.press("Last 7 days")
    assert "no market data for BTC/USDT" in reply.alert
