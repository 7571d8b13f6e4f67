"""The Slack app end to end: signed requests into Bolt, Web API and response_urls into the local recorder."""

from __future__ import annotations

import time

import pytest

from chat import engine
from tests.chat.slack.conftest import SlackHarness, button_value, message_text
from tests.factories import FundBotFactory
from users.models import ChatIdentity, User

pytestmark = pytest.mark.django_db


def test_unsigned_forged_or_stale_requests_are_refused(slack: SlackHarness) -> None:
    body = slack.signer.slash_command("U1", "start", response_url=slack.recorder.response_url())
    form = "application/x-www-form-urlencoded"
    unsigned = slack.http.generic("POST", "/slack/events", body, content_type=form)
    forged = slack.post(body, form, **{"x-slack-signature": "v0=" + "0" * 64})
    old = str(int(time.time()) - 6 * 60)
    stale_headers = slack.signer.headers(body, timestamp=int(old), content_type=form)
    stale_headers.pop("content-type")
    stale = slack.http.generic("POST", "/slack/events", body, content_type=form, headers=stale_headers)
    assert [unsigned.status_code, forged.status_code, stale.status_code] == [401, 401, 401]
    assert not User.objects.exists() and not slack.recorder.responses


def test_ldp_start_signs_up_and_answers_ephemerally(slack: SlackHarness) -> None:
    reply = slack.command("U100", "start")
    assert reply["response_type"] == "ephemeral"
    assert "your account is ready" in message_text(reply)
    identity = ChatIdentity.objects.get(surface="slack")
    assert (identity.team_id, identity.external_user_id) == ("T0LDP", "U100")


def test_buttons_replace_the_message_they_are_on(slack: SlackHarness) -> None:
    welcome = slack.command("U101", "start")
    menu = slack.press("U101", welcome, "« Menu")
    assert menu["replace_original"] is True
    assert "What would you like to do?" in message_text(menu)


def test_a_button_pressed_by_someone_else_does_nothing(slack: SlackHarness) -> None:
    fund = FundBotFactory().fund
    alice_funds = (slack.command("U102", "start"), slack.command("U102", "funds"))[1]
    slack.command("U103", "start")
    answer = slack.press("U103", alice_funds, fund.name)
    assert answer["text"] == engine.BAD_BUTTON and answer["replace_original"] is False


def test_forms_open_as_modals_and_show_field_errors(slack: SlackHarness) -> None:
    slack.command("U104", "start")
    account = slack.command("U104", "account")
    slack.press("U104", account, "Add e-mail")
    modal = slack.recorder.calls_of("views.open")[-1].params["view"]
    assert modal["type"] == "modal" and modal["blocks"][-1]["block_id"] == "email"

    ack = slack.submit("U104", modal, {"email": "nope"})
    assert ack["response_action"] == "update"
    retry = slack.recorder.calls_of("views.update")[-1].params["view"]
    assert "is not a valid e-mail address" in str(retry["blocks"])
    assert User.objects.get().email == ""

    slack.submit("U104", retry, {"email": "u104@example.com"})
    assert User.objects.get().email == "u104@example.com"
    posted = slack.recorder.calls_of("chat.postMessage")[-1].params
    assert "E-mail saved." in message_text(posted)


def test_the_key_form_asks_the_secret_in_a_modal_and_never_in_the_dm(slack: SlackHarness) -> None:
    slack.command("U105", "start")
    keys = slack.command("U105", "keys")
    slack.press("U105", keys, "Add key")
    modal = slack.recorder.calls_of("views.open")[-1].params["view"]
    assert [block.get("block_id") for block in modal["blocks"] if block["type"] == "input"] == [
        "name", "api_key", "api_secret"]
    # Typing into the DM while the secret is due is refused and the form dropped.
    slack.event({"type": "message", "channel_type": "im", "channel": "D1", "user": "U105", "text": "Main",
                 "ts": "1.2"})
    slack.event({"type": "message", "channel_type": "im", "channel": "D1", "user": "U105", "text": "k3y",
                 "ts": "1.3"})
    assert "never paste a secret" in message_text(slack.recorder.calls_of("chat.postMessage")[-1].params)


def test_app_home_shows_the_dashboard(slack: SlackHarness) -> None:
    slack.command("U106", "start")
    slack.event({"type": "app_home_opened", "user": "U106", "channel": "D2", "tab": "home"})
    view = slack.recorder.calls_of("views.publish")[-1].params
    assert view["user_id"] == "U106" and view["view"]["type"] == "home"
    assert "What would you like to do?" in str(view["view"]["blocks"])
    # Buttons in the Home tab navigate inside it.
    home_button = button_value({"blocks": view["view"]["blocks"]}, "Account")
    body = slack.signer.block_action("U106", home_button, response_url=None,
                                     container={"type": "view", "view_id": "VHOME"},
                                     view={"id": "VHOME", "type": "home"})
    assert slack.post(body, "application/x-www-form-urlencoded").status_code == 200
    assert "Linked chats" in str(slack.recorder.calls_of("views.publish")[-1].params["view"]["blocks"])


def test_direct_messages_get_a_hint_and_channel_chatter_is_ignored(slack: SlackHarness) -> None:
    slack.command("U107", "start")
    before = len(slack.recorder.calls_of("chat.postMessage"))
    slack.event({"type": "message", "channel_type": "channel", "channel": "C1", "user": "U107", "text": "hi",
                 "ts": "1.4"})
    slack.event({"type": "message", "channel_type": "im", "channel": "D3", "user": "U107", "text": "hi",
                 "ts": "1.5"})
    posted = slack.recorder.calls_of("chat.postMessage")[before:]
    assert len(posted) == 1 and "didn't understand" in message_text(posted[0].params)


def test_a_telegram_link_code_joins_the_slack_identity(slack: SlackHarness) -> None:
    from tests.chat.conftest import make_driver

    telegram = make_driver(user_id="7001")
    telegram.command("start")
    telegram.command("account")
    code = telegram.press("Link another chat").screen.text.split("link code: ")[1].split()[0]
    reply = slack.command("U108", f"link {code}")
    assert "Linked" in message_text(reply)
    assert User.objects.count() == 1
    assert ChatIdentity.objects.get(surface="slack").user == ChatIdentity.objects.get(surface="telegram").user


def test_adding_a_key_in_the_modal_validates_it_with_the_exchange(slack: SlackHarness, exchange_api_base,
                                                                  exchange_account) -> None:
    from exchanges.models import ExchangeSetting

    slack.command("U109", "start")
    keys = slack.command("U109", "keys")
    slack.press("U109", keys, "Add key")
    modal = slack.recorder.calls_of("views.open")[-1].params["view"]

    slack.submit("U109", modal, {"name": "Main", "api_key": exchange_account.api_key, "api_secret": "wrong-secret-1"})
    retry = slack.recorder.calls_of("views.update")[-1].params["view"]
    assert retry["callback_id"] == "ldp_form" and ":warning:" in str(retry["blocks"])
    assert not ExchangeSetting.objects.exists()
    assert "wrong-secret-1" not in str(retry)  # secrets are never pre-filled

    slack.submit("U109", retry, {"name": "Main", "api_key": exchange_account.api_key,
                                 "api_secret": exchange_account.secret})
    assert ExchangeSetting.objects.get().validation_status == "valid"
    posted = message_text(slack.recorder.calls_of("chat.postMessage")[-1].params)
    assert "Key Main saved" in posted and exchange_account.secret not in str(slack.recorder.calls)
