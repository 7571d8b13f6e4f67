"""Slack harness: signed HTTP requests into the Bolt app (mounted in Django at /slack/events), its Web API
and response_urls pointed at the local recorder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from chat.slack import app as slack_app
from chat.slack import session, views
from emulators.slack import SlackRecorder, SlackSigner

SIGNING_SECRET = "test-signing-secret"


@dataclass
class SlackHarness:
    recorder: SlackRecorder
    signer: SlackSigner
    http: Client

    def post(self, body: str, content_type: str, **header_overrides: Any):
        headers = self.signer.headers(body, content_type=content_type)
        headers.update(header_overrides)
        headers.pop("content-type")
        return self.http.generic("POST", "/slack/events", body, content_type=content_type,
                                 headers=headers)

    def command(self, user_id: str, text: str):
        """Run `/ldp <text>`; returns the last response posted to the command's response_url."""
        before = len(self.recorder.responses)
        body = self.signer.slash_command(user_id, text, response_url=self.recorder.response_url())
        response = self.post(body, "application/x-www-form-urlencoded")
        assert response.status_code == 200, response.content
        return self.recorder.responses[before:][-1] if len(self.recorder.responses) > before else None

    def press(self, user_id: str, message: dict[str, Any], label: str):
        """Press a button of a message (blocks); returns the new response (or None)."""
        return self.press_value(user_id, button_value(message, label))

    def press_value(self, user_id: str, value: str):
        before = len(self.recorder.responses)
        body = self.signer.block_action(user_id, value, response_url=self.recorder.response_url())
        response = self.post(body, "application/x-www-form-urlencoded")
        assert response.status_code == 200, response.content
        return self.recorder.responses[before:][-1] if len(self.recorder.responses) > before else None

    def submit(self, user_id: str, view: dict[str, Any], values: dict[str, str]):
        body = self.signer.view_submission(user_id, view, values)
        response = self.post(body, "application/x-www-form-urlencoded")
        assert response.status_code == 200, response.content
        return json.loads(response.content or b"{}")

    def event(self, event: dict[str, Any]):
        body = self.signer.event(event)
        return self.post(body, "application/json")


def button_value(message: dict[str, Any], label: str) -> str:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button" and element["text"]["text"].startswith(label):
                return element["value"]
    labels = [e["text"]["text"] for b in message.get("blocks") or [] for e in b.get("elements") or []
              if e.get("type") == "button"]
    raise AssertionError(f"no button {label!r} in {labels}")


def message_text(message: dict[str, Any]) -> str:
    parts = []
    for block in message.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(text.get("text", ""))
    return "\n".join(parts) or message.get("text", "")


@pytest.fixture
def slack(chat_state, settings, monkeypatch) -> Iterator[SlackHarness]:
    recorder = SlackRecorder().start()
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    settings.SLACK_API_BASE = recorder.api_base
    app = slack_app.build_app(process_before_response=True)
    monkeypatch.setattr(views, "default_app", lambda: app)
    monkeypatch.setattr(session, "POLL_IN_BACKGROUND", False)
    try:
        yield SlackHarness(recorder, SlackSigner(SIGNING_SECRET, team_id=recorder.team_id), Client())
    finally:
        recorder.stop()
