"""Parity: the same journey through Telegram and through Slack shows the same screens and buttons.

Both adapters only translate the core's screens, so a person pressing the same buttons in either app
sees the same titles and the same choices at every step.
"""

from __future__ import annotations

import pytest

from tests.chat.slack.conftest import SlackHarness, button_value, slack  # noqa: F401  (fixture)
from tests.chat.telegram.conftest import Harness, telegram  # noqa: F401  (fixture)
from tests.factories import BotFactory, FundBotFactory

pytestmark = pytest.mark.django_db

JOURNEY = ["« Menu", "Funds & bots", "Funds", "{fund}", "Subscribe", "Yes, subscribe", "My bots", "Parity Bot",
           "Run type", "Simulation", "SETTINGS", "Fast SMA", "+1", "« Settings", "« Bot", "« My bots", "« Menu",
           "Account", "Time zone", "Europe/Berlin", "Notifications", "Events in this app", "✓ Bot started",
           "« Notifications", "Mute this chat", "Unmute this chat", "« Account", "« Menu", "Help"]


def _steps(fund_name: str) -> list[str]:
    return [step.replace("{fund}", fund_name) for step in JOURNEY]


def _telegram_view(message) -> tuple[str, list[str]]:
    return message.text.split("\n", 1)[0], [button["text"] for button in message.buttons]


def _slack_view(message: dict) -> tuple[str, list[str]]:
    blocks = message.get("blocks") or []
    header = next((b["text"]["text"] for b in blocks if b["type"] == "header"), None)
    first = header or next(b["text"]["text"] for b in blocks if b["type"] == "section").split("\n", 1)[0]
    labels = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return first, labels


def test_the_same_journey_looks_the_same_in_telegram_and_slack(telegram, slack: SlackHarness) -> None:  # noqa: F811
    fund = FundBotFactory(bot=BotFactory(name="Parity Bot")).fund
    steps = _steps(fund.name)

    seen_in_telegram: list[tuple[str, list[str]]] = []

    async def scenario(h: Harness) -> None:
        user = h.emu.user(601)
        message = await h.say(user, "/start")
        seen_in_telegram.append(_telegram_view(message))
        for label in steps:
            message = await h.tap(user, message, label)
            seen_in_telegram.append(_telegram_view(message))

    telegram(scenario)

    seen_in_slack: list[tuple[str, list[str]]] = []
    message = slack.command("U601", "start")
    seen_in_slack.append(_slack_view(message))
    for label in steps:
        message = slack.press_value("U601", button_value(message, label))
        seen_in_slack.append(_slack_view(message))

    assert len(seen_in_telegram) == len(steps) + 1
    assert seen_in_slack == seen_in_telegram
