"""What the core hands to a renderer: screens of text and buttons, forms, and replies.

A renderer (chat.telegram, chat.slack, chat.terminal) turns these into messages; nothing in here knows
about a surface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ButtonStyle = Literal["", "primary", "danger"]


@dataclass(frozen=True)
class Button:
    """A button. `payload` is the core's signed, compact action (chat.payloads); `url` opens a link."""

    label: str
    payload: str = ""
    style: ButtonStyle = ""
    url: str = ""


@dataclass(frozen=True)
class Image:
    """A PNG shown with (Telegram: above) the screen's text."""

    png: bytes
    name: str = "chart.png"
    alt: str = "chart"

    def __repr__(self) -> str:  # keep logs short
        return f"Image({self.name!r}, {len(self.png)} bytes)"


@dataclass
class Screen:
    """Text + rows of buttons (+ optional image).

    `poll` is a payload the renderer re-runs every few seconds, editing the message in place, until a
    screen without `poll` comes back (simulation progress).

    `ephemeral`: the screen shows a secret once (a new API token). Surfaces keep it out of the chat's history:
    Telegram deletes the message when the user is done (or after a while), Slack shows it only to the user
    (ephemerally, or in the modal the form was filled in) and never posts it to the DM or the App Home.
    """

    text: str
    title: str = ""
    rows: list[list[Button]] = field(default_factory=list)
    image: Image | None = None
    poll: str = ""
    ephemeral: bool = False

    def buttons(self) -> list[Button]:
        return [button for row in self.rows for button in row]


@dataclass(frozen=True)
class Field:
    """One input of a form. Secret fields are never echoed or kept in plain text."""

    name: str
    label: str
    hint: str = ""
    secret: bool = False
    optional: bool = False
    initial: str = ""
    multiline: bool = False


@dataclass(frozen=True)
class FormView:
    """A form as one piece, for surfaces with modals (Slack). `token` ties the submission to its state."""

    form: str
    title: str
    fields: tuple[Field, ...]
    token: str
    submit_label: str = "Save"
    intro: str = ""


@dataclass
class Reply:
    """What a core entry point returns.

    - `screen`: shown as a new message, or in place of the pressed message when `edit` is true.
    - `alert`: a short message for this user only (Telegram: callback answer; Slack: ephemeral).
    - `form`: surfaces with modals open it; others already got the first step in `screen`.
    - `delete_input`: delete the user's message that carried this input (it held a secret).
    - `field_errors`: a modal submission failed on these fields; the modal stays open.
    - `extra`: further messages after `screen` (e.g. a chart).
    - `delete_origin`: delete the pressed message (it showed a secret) and show `screen` as a new one.
    """

    screen: Screen | None = None
    edit: bool = False
    alert: str = ""
    form: FormView | None = None
    delete_input: bool = False
    field_errors: dict[str, str] = field(default_factory=dict)
    extra: list[Screen] = field(default_factory=list)
    delete_origin: bool = False

    @property
    def is_empty(self) -> bool:
        return self.screen is None and not self.alert and self.form is None and not self.field_errors
