"""The terminal renderer (`ldp chat`): the same core, offline, with buttons as numbered choices.

Type a number to press a button, `/command` for commands, anything else as a typed message; `quit` leaves.
Secrets are read without echo. Charts are saved as PNG files under var/chat/ and their path is printed.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from pathlib import Path

from chat import engine
from chat.context import Actor
from chat.screens import Button, Reply, Screen
from config.env import VAR_DIR

POLL_INTERVAL_SECONDS = 1.0
POLL_MAX_SECONDS = 30 * 60
CHART_DIR = VAR_DIR / "chat"


class TerminalChat:
    def __init__(self, user: str, *, read: Callable[[str], str] = input,
                 read_secret: Callable[[str], str] = getpass.getpass, write: Callable[[str], None] = print):
        self.actor = Actor(surface="terminal", external_user_id=user, chat_id=user, username=user)
        self.read, self.read_secret, self.write = read, read_secret, write
        self.buttons: list[Button] = []

    def ctx(self) -> engine.Ctx:
        return engine.session_open(self.actor)

    def show_screen(self, screen: Screen) -> None:
        out = [""]
        if screen.title:
            out += [screen.title, "─" * min(len(screen.title), 60)]
        out.append(screen.text)
        if screen.image is not None:
            CHART_DIR.mkdir(parents=True, exist_ok=True)
            path = CHART_DIR / f"{int(time.time())}-{Path(screen.image.name).name}"
            path.write_bytes(screen.image.png)
            out.append(f"[chart saved to {path}]")
        self.buttons = [button for button in screen.buttons() if button.payload]
        for number, button in enumerate(self.buttons, start=1):
            out.append(f"  [{number}] {button.label}")
        self.write("\n".join(out))

    def show(self, reply: Reply) -> None:
        if reply.alert:
            self.write(f"! {reply.alert}")
        if reply.screen is not None:
            self.show_screen(reply.screen)
            if reply.screen.poll:
                self._poll(reply.screen.poll)
        for extra in reply.extra:
            self.show_screen(extra)

    def _poll(self, payload: str) -> None:
        deadline = time.monotonic() + POLL_MAX_SECONDS
        while payload and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL_SECONDS)
            reply = engine.handle_action(self.ctx(), payload)
            if reply.screen is None:
                return
            self.show_screen(reply.screen)
            payload = reply.screen.poll

    def handle(self, line: str) -> Reply:
        line = line.strip()
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            return engine.handle_action(self.ctx(), self.buttons[int(line) - 1].payload)
        if line.startswith("/"):
            name, _, arg = line[1:].partition(" ")
            return engine.handle_command(self.ctx(), name, arg)
        return engine.handle_text(self.ctx(), line)

    def run(self) -> int:
        self.write("L&D Platform in the terminal. Numbers press buttons, /help lists commands, quit leaves.")
        self.show(engine.handle_command(self.ctx(), "start"))
        while True:
            try:
                secret = engine.input_is_sensitive(self.ctx())
                line = self.read_secret("secret (hidden)> ") if secret else self.read("> ")
            except (EOFError, KeyboardInterrupt):
                self.write("")
                return 0
            if line.strip().lower() in {"quit", "exit", "/quit"}:
                return 0
            if line.strip():
                self.show(self.handle(line))
