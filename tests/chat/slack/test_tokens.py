"""API tokens on Slack: the new token appears only in the modal it was asked in, never in the DM."""

from __future__ import annotations

import pytest

from tests.chat.slack.conftest import SlackHarness, message_text
from users.models import ApiToken
from users.selectors import user_get_by_api_token

pytestmark = pytest.mark.django_db


def test_a_new_token_is_shown_in_the_modal_only(slack: SlackHarness) -> None:
    slack.command("U201", "start")
    account = slack.command("U201", "account")
    tokens = slack.press("U201", account, "API tokens")
    assert "No API tokens yet." in message_text(tokens)
    slack.press("U201", tokens, "Create token")
    modal = slack.recorder.calls_of("views.open")[-1].params["view"]
    assert [block.get("block_id") for block in modal["blocks"] if block["type"] == "input"] == ["name"]

    slack.submit("U201", modal, {"name": "notebook"})
    shown = str(slack.recorder.calls_of("views.update")[-1].params["view"])
    plaintext = shown.split("ldp_", 1)[1].split("\\n", 1)[0]
    plaintext = "ldp_" + plaintext
    assert user_get_by_api_token(token=plaintext) is not None
    assert "close this dialog" in shown
    # Nowhere else: not in the DM, not in an ephemeral message, not in the App Home.
    others = [call for call in slack.recorder.calls if call.method != "views.update"]
    assert all(plaintext not in str(call.params) for call in others)
    assert all(plaintext not in str(response) for response in slack.recorder.responses)

    listed = slack.press("U201", slack.command("U201", "account"), "API tokens")
    assert f"• notebook — {ApiToken.objects.get().prefix}…" in message_text(listed)


def test_a_secret_screen_without_a_response_url_is_posted_ephemerally(slack: SlackHarness) -> None:
    from slack_sdk import WebClient

    from chat import engine
    from chat.screens import Reply, Screen
    from chat.slack.session import _actor, show

    ctx = engine.session_open(_actor("T0LDP", "U202"))
    client = WebClient(token="xoxb-test-token", base_url=slack.recorder.api_base)
    secret = Screen(title="Your new API token", text="ldp_secret-value", ephemeral=True)
    show(client, ctx, Reply(screen=secret), respond=None, trigger_id=None, edit=False, in_home=True)
    assert [call.method for call in slack.recorder.calls] == ["chat.postEphemeral"]
    assert slack.recorder.calls[0].params["user"] == "U202"
