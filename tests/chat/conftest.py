"""Chat test helpers: a private Redis key prefix per test, and a driver that talks to the core like a renderer."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from chat import engine, state
from chat.context import Actor
from chat.screens import Button, Reply, Screen


@pytest.fixture
def chat_state(broker_url: str) -> Iterator[None]:
    """Every test gets its own key prefix in the shared Redis (other test runs use it at the same time)."""
    previous = state.KEY_PREFIX
    state.KEY_PREFIX = f"test:{os.getpid()}:{uuid.uuid4().hex[:8]}:chat:"
    try:
        yield
    finally:
        client = state.client()
        keys = list(client.scan_iter(f"{state.KEY_PREFIX}*"))
        if keys:
            client.delete(*keys)
        state.KEY_PREFIX = previous


@dataclass
class CoreDriver:
    """Talks to chat.engine the way a renderer does and keeps the last screen, for core-level tests."""

    actor: Actor
    replies: list[Reply] = field(default_factory=list)
    screen: Screen | None = None

    def _keep(self, reply: Reply) -> Reply:
        self.replies.append(reply)
        if reply.screen is not None:
            self.screen = reply.screen
        return reply

    def command(self, name: str, arg: str = "") -> Reply:
        return self._keep(engine.handle_command(engine.session_open(self.actor), name, arg))

    def type(self, text: str) -> Reply:
        return self._keep(engine.handle_text(engine.session_open(self.actor), text))

    def press_payload(self, payload: object) -> Reply:
        return self._keep(engine.handle_action(engine.session_open(self.actor), payload))

    def button(self, label: str) -> Button:
        assert self.screen is not None, "no screen yet"
        for button in self.screen.buttons():
            if button.label == label or button.label.startswith(label):
                return button
        raise AssertionError(f"no button {label!r} in {[b.label for b in self.screen.buttons()]}")

    def press(self, label: str) -> Reply:
        return self.press_payload(self.button(label).payload)

    def submit(self, values: dict[str, str]) -> Reply:
        reply = self.replies[-1]
        assert reply.form is not None
        return self._keep(engine.handle_form_submit(engine.session_open(self.actor), reply.form.token, values))

    @property
    def text(self) -> str:
        assert self.screen is not None
        return f"{self.screen.title}\n{self.screen.text}"


@pytest.fixture
def tg_driver(chat_state) -> CoreDriver:
    return CoreDriver(Actor(surface="telegram", external_user_id="5001", chat_id="5001", username="alice"))


def make_driver(surface: str = "telegram", user_id: str = "5002", **kwargs) -> CoreDriver:
    chat_id = kwargs.pop("chat_id", user_id)
    return CoreDriver(Actor(surface=surface, external_user_id=user_id, chat_id=chat_id, **kwargs))
