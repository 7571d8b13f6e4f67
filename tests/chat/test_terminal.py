"""`ldp chat`: the terminal renderer drives the same core, buttons as numbered choices."""

from __future__ import annotations

import pytest

from chat.terminal import TerminalChat
from tests.factories import FundBotFactory
from users.models import ChatIdentity

pytestmark = pytest.mark.django_db


def _run(lines: list[str], secrets: list[str] | None = None) -> str:
    out: list[str] = []
    feed, hidden = iter(lines), iter(secrets or [])

    def reader(lines):
        def read(prompt: str) -> str:
            try:
                return next(lines)
            except StopIteration:
                raise EOFError from None

        return read

    chat = TerminalChat("tester", read=reader(feed), read_secret=reader(hidden), write=out.append)
    assert chat.run() == 0
    return "\n".join(out)


def test_numbers_press_buttons_and_commands_work(chat_state) -> None:
    fund = FundBotFactory().fund
    output = _run(["5", "2", "1", "/help", "quit"])
    assert ChatIdentity.objects.get(surface="terminal").external_user_id == "tester"
    assert "[1] My bots" in output  # the menu, after pressing [5] « Menu
    assert fund.name in output  # Funds & bots → Funds
    assert "/bots — Your bots" in output


def test_secret_steps_are_read_without_echo(chat_state) -> None:
    output = _run(["/keys", "1", "Main"], secrets=["the-key", "the-secret"])
    assert "the-key" not in output and "the-secret" not in output
    assert "Step 2 of 3: The API key" in output
