"""Operators START and STOP bots from the admin through the same services as chat and API."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bots.models import BotRuntime, BotState, RunType, SubscribedBot
from tests.factories import BotFactory, StaffFactory, SubscribedBotFactory

pytestmark = pytest.mark.django_db

SETTINGS = {"symbol": "BTC/USDT", "timeframe": "1m", "fast": 5, "slow": 20}


def _action(client: Client, action: str, ids: list[int]) -> str:
    response = client.post(reverse("admin:bots_subscribedbot_changelist"),
                           {"action": action, "_selected_action": [str(pk) for pk in ids]}, follow=True)
    return response.content.decode()


def test_start_and_stop_actions_call_the_runtime_services() -> None:
    client = Client()
    client.force_login(StaffFactory())
    bot = SubscribedBotFactory(bot=BotFactory(default_setting=dict(SETTINGS)), run_type=RunType.DRY_RUN)
    simulation = SubscribedBotFactory(bot=BotFactory(default_setting=dict(SETTINGS)), run_type=RunType.SIMULATION)

    page = _action(client, "action_start_selected_bots", [bot.pk, simulation.pk])
    assert SubscribedBot.objects.get(pk=bot.pk).state == BotState.STARTING
    assert SubscribedBot.objects.get(pk=simulation.pk).state == BotState.STOPPED
    assert "1 done" in page and "set to simulation" in page

    _action(client, "action_stop_selected_bots__keep_their_positions_", [bot.pk])
    assert SubscribedBot.objects.get(pk=bot.pk).state == BotState.STOPPING
    assert BotRuntime.objects.get(subscribed_bot=bot).stop_close_position is False
