"""Scripted journeys through the real Telegram client: what a person sees, message by message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async

from bots.models import BotRun, SubscribedBot
from exchanges.models import ExchangeSetting
from tests.chat.telegram.conftest import Harness
from tests.factories import BotFactory, FundBotFactory

pytestmark = pytest.mark.django_db


def test_signup_key_subscribe_start_status_settings_report_stop(telegram, exchange_api_base, exchange_account) -> None:
    fund = FundBotFactory(bot=BotFactory(name="Trend Rider BTC")).fund

    async def scenario(h: Harness) -> None:
        ann = h.emu.user(501, username="ann")
        welcome = await h.say(ann, "/start")

        # Exchange key: three steps; the two messages with the key and the secret are deleted at once.
        step = await h.tap(ann, welcome, "Add exchange key")
        assert "Step 1 of 3: A name for this key" in step.text
        assert "Step 2 of 3: The API key" in (await h.say(ann, "Main futures")).text
        key_message = ann.send(exchange_account.api_key)
        step = await h.emu.wait_for(lambda: "Step 3 of 3" in h.emu.last_message(501).text and h.emu.last_message(501))
        secret_message = ann.send(exchange_account.secret)
        keys = await h.emu.wait_for(lambda: "Key Main futures saved" in h.emu.last_message(501).text
                                    and h.emu.last_message(501))
        assert h.emu.messages[(501, key_message)].deleted and h.emu.messages[(501, secret_message)].deleted
        assert all(exchange_account.secret not in m.text for m in h.emu.chat(501))
        assert "valid" in keys.text.lower()

        # Subscribe to a fund (with confirmation).
        funds = await h.say(ann, "/funds")
        card = await h.tap(ann, funds, fund.name)
        confirm = await h.tap(ann, card, "Subscribe")
        done = await h.tap(ann, confirm, "Yes, subscribe")
        assert "Subscribed" in done.text

        # My bots → the bot card → START (dry-run).
        bots = await h.say(ann, "/bots")
        assert "Trend Rider BTC" in bots.text and "Dry-run" in bots.text
        bot_card = await h.tap(ann, bots, "Trend Rider BTC")
        assert "Run type: Dry-run" in bot_card.text
        started = await h.tap(ann, bot_card, "START")
        assert "Start requested." in started.text and "State: … Starting" in started.text
        assert {"STOP", "SETTINGS", "REPORT"} <= {b["text"] for b in started.buttons}

        # Status: the bot list shows the state.
        assert "starting" in (await h.say(ann, "/bots")).text

        # Settings: +1 with a button, an invalid typed value (refused with the range), then a valid one.
        editor = await h.tap(ann, started, "SETTINGS")
        field = await h.tap(ann, editor, "Fast SMA")
        assert "Current: 10" in field.text
        field = await h.tap(ann, field, "+1")
        assert "Saved: Fast SMA = 11" in field.text
        prompt = await h.tap(ann, field, "Type a value")
        assert "New value for Fast SMA" in prompt.text
        refused = await h.say(ann, "5000")
        assert "fast must be a whole number between" in refused.text
        saved = await h.say(ann, "12")
        assert "Saved: Fast SMA = 12" in saved.text

        # Report of the bot.
        report = await h.tap(ann, saved, "« Settings")
        report = await h.tap(ann, report, "« Bot")
        report = await h.tap(ann, report, "REPORT")
        assert "Report: Trend Rider BTC" in report.text and "Run type: Dry-run" in report.text

        # STOP asks first, then stops (closing the position).
        card = await h.tap(ann, report, "« Bot")
        confirm = await h.tap(ann, card, "STOP")
        assert "Close its open position" in confirm.text
        stopped = await h.tap(ann, confirm, "Stop and close position")
        assert "Stop requested." in stopped.text

    telegram(scenario)
    key = ExchangeSetting.objects.get()
    assert key.validation_status == "valid" and exchange_account.secret not in key.api_secret_encrypted
    bot = SubscribedBot.objects.get(bot__name="Trend Rider BTC")
    assert bot.state == "stopping" and bot.user_bot_setting == {"fast": 12}


def test_simulation_asks_a_range_shows_progress_then_results_and_chart(telegram) -> None:
    from marketdata.services import candles_generate

    candles_generate(symbols=["BTC/USDT"], days=9, end=datetime.now(UTC))
    bot = BotFactory(name="Sim Bot")
    FundBotFactory(bot=bot)

    async def scenario(h: Harness) -> None:
        ben = h.emu.user(502)
        await h.say(ben, "/start")
        subscribed = await sync_to_async(_subscribe)(bot.pk)
        bots = await h.say(ben, "/bots")
        card = await h.tap(ben, bots, "Sim Bot")
        kinds = await h.tap(ben, card, "Run type")
        card = await h.tap(ben, kinds, "Simulation")
        assert "Run type: Simulation" in card.text
        ranges = await h.tap(ben, card, "START")
        assert "Which period?" in ranges.text
        progress = await h.tap(ben, ranges, "Last 7 days")
        assert "Simulating Sim Bot" in progress.text and "0 %" in progress.text
        # The worker runs the simulation; the message is edited as it goes, then the chart arrives.
        run = await sync_to_async(BotRun.objects.get)(subscribed_bot_id=subscribed)
        await sync_to_async(_run_simulation)(run.pk)
        photo = await h.emu.wait_for(lambda: next((m for m in h.emu.chat(502) if m.photo), None), timeout=20)
        assert "Simulation of Sim Bot" in photo.text and "Return:" in photo.text and "Fees:" in photo.text
        assert photo.photo.startswith(b"\x89PNG")
        assert h.emu.messages[(502, progress.message_id)].edits >= 1

    telegram(scenario)


def _subscribe(bot_id: int) -> int:
    from bots.services import bot_subscribe
    from users.models import ChatIdentity

    user = ChatIdentity.objects.get(external_user_id="502").user
    return bot_subscribe(user=user, bot_id=bot_id).pk


def _run_simulation(run_id: int) -> None:
    from trading.simulation.services import simulation_run

    simulation_run(run_id=run_id)


def test_a_button_from_an_old_screen_shows_the_fresh_one(telegram) -> None:
    bot = BotFactory(name="Old Screen Bot")

    async def scenario(h: Harness) -> None:
        cleo = h.emu.user(503)
        await h.say(cleo, "/start")
        subscribed = await sync_to_async(_subscribe_user)(503, bot.pk)
        card = await h.say(cleo, "/bots")
        card = await h.tap(cleo, card, "Old Screen Bot")
        # Make the card's buttons 11 minutes old: re-sign them as drawn then.
        from chat import payloads
        from tests.chat.telegram.conftest import resign

        stale = resign(card.button("START")["callback_data"], owner_id=await sync_to_async(_owner)(503),
                       issued_at=datetime.now(UTC) - timedelta(minutes=11))
        answer = await h.tap_data(cleo, card, stale)
        assert answer["text"] == "This screen is out of date — here is the current one."
        assert payloads.MAX_PAYLOAD_BYTES == 62 and subscribed

    telegram(scenario)
    assert SubscribedBot.objects.get(bot=bot).state == "stopped"


def _subscribe_user(telegram_id: int, bot_id: int) -> int:
    from bots.services import bot_subscribe
    from users.models import ChatIdentity

    user = ChatIdentity.objects.get(external_user_id=str(telegram_id)).user
    return bot_subscribe(user=user, bot_id=bot_id).pk


def _owner(telegram_id: int) -> int:
    from users.models import ChatIdentity

    return ChatIdentity.objects.get(external_user_id=str(telegram_id)).user_id
