"""Who is talking (Actor, as the surface reports it) and the per-update context handlers receive."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chat import payloads
from chat.screens import Button, ButtonStyle

if TYPE_CHECKING:
    from users.models import ChatIdentity, User


@dataclass(frozen=True)
class Surface:
    name: str
    command_prefix: str
    # Telegram can delete the user's message that carried a secret; Slack asks secrets in a modal.
    deletes_input: bool = False
    modals: bool = False


SURFACES = {
    "telegram": Surface("Telegram", "/", deletes_input=True),
    "slack": Surface("Slack", "/ldp ", modals=True),
    "terminal": Surface("terminal", "/"),
}


@dataclass(frozen=True)
class Actor:
    """A person on one surface. `private` is false in group chats, where the bot is read-only."""

    surface: str
    external_user_id: str
    team_id: str = ""
    chat_id: str = ""
    username: str = ""
    private: bool = True

    @property
    def key(self) -> str:
        return f"{self.surface}:{self.team_id}:{self.external_user_id}"

    @property
    def traits(self) -> Surface:
        return SURFACES[self.surface]


@dataclass
class Ctx:
    """One update's context: the actor, their identity and account (resolved once), and the clock.

    Buttons made through `button()` are signed for this account and stamped with this render's time.
    """

    actor: Actor
    identity: ChatIdentity | None = None
    user: User | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    nonce: str = field(default_factory=payloads.new_nonce)

    @property
    def owner_id(self) -> int:
        return self.user.pk if self.user is not None else 0

    @property
    def tz(self) -> str:
        return self.user.timezone if self.user is not None else "UTC"

    def button(self, label: str, code: str, *args: object, style: ButtonStyle = "") -> Button:
        payload = payloads.encode(code, args, owner_id=self.owner_id, issued_at=self.now, nonce=self.nonce)
        return Button(label=label, payload=payload, style=style)

    def cmd(self, name: str) -> str:
        """How the user types a command here: `/bots` in Telegram, `/ldp bots` in Slack."""
        return f"{self.actor.traits.command_prefix}{name}"
