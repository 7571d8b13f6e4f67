"""Commands, button actions and forms, registered by the journey modules (chat.journeys.*).

An action declares the types of its payload args, whether it changes anything (then it is refused in
group chats and a double tap acts once) and how long its screen stays valid (`max_age`, with `refresh`
drawing the current screen when a button is older than that).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from chat.screens import Field

Handler = Callable[..., Any]

_INT = re.compile(r"^[0-9]{1,12}$")
_WORD = re.compile(r"^[A-Za-z0-9_.:/+-]{1,40}$")


class ArgError(Exception):
    pass


def _parse_int(raw: str) -> int:
    if not _INT.match(raw):
        raise ArgError(raw)
    return int(raw)


def _parse_word(raw: str) -> str:
    if not _WORD.match(raw):
        raise ArgError(raw)
    return raw


def _parse_decimal(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        raise ArgError(raw) from None
    if not value.is_finite() or len(raw) > 24:
        raise ArgError(raw)
    return value


ARG_PARSERS: dict[type, Callable[[str], Any]] = {int: _parse_int, str: _parse_word, Decimal: _parse_decimal}


@dataclass(frozen=True)
class ActionSpec:
    code: str
    handler: Handler
    arg_types: tuple[type, ...]
    mutates: bool
    max_age: int | None
    refresh: Handler | None
    public: bool

    def parse_args(self, raw: tuple[str, ...]) -> tuple[Any, ...]:
        if len(raw) != len(self.arg_types):
            raise ArgError("wrong number of args")
        return tuple(ARG_PARSERS[kind](value) for kind, value in zip(self.arg_types, raw, strict=True))


@dataclass(frozen=True)
class CommandSpec:
    name: str
    handler: Handler
    help: str
    read_only: bool
    public: bool
    hidden: bool
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class FormSpec:
    name: str
    title: str
    fields: tuple[Field, ...]
    submit: Handler
    submit_label: str
    intro: str
    public: bool

    def field_index(self, name: str | None) -> int | None:
        for index, item in enumerate(self.fields):
            if item.name == name:
                return index
        return None


# Extra rows on a bot's card, by other features (e.g. a game panel button for manual bots):
# functions (ctx, subscribed_bot) -> list of button rows.
BOT_CARD_EXTRAS: list[Handler] = []

ACTIONS: dict[str, ActionSpec] = {}
COMMANDS: dict[str, CommandSpec] = {}
COMMAND_ALIASES: dict[str, str] = {}
FORMS: dict[str, FormSpec] = {}


def action(
    code: str,
    *arg_types: type,
    mutates: bool = False,
    max_age: int | None = None,
    refresh: Handler | None = None,
    public: bool = False,
) -> Callable[[Handler], Handler]:
    """Register a button action. `public` actions work before sign-up completes (pending accounts)."""
    if max_age is not None and refresh is None:
        raise ValueError(f"action {code!r}: an action with max_age needs a refresh screen")

    def decorate(handler: Handler) -> Handler:
        if code in ACTIONS:
            raise ValueError(f"action code {code!r} registered twice")
        ACTIONS[code] = ActionSpec(code, handler, arg_types, mutates, max_age, refresh, public)
        return handler

    return decorate


def command(
    name: str,
    help: str,
    *,
    read_only: bool = True,
    public: bool = False,
    hidden: bool = False,
    aliases: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Register a command. Only `read_only` commands answer in group chats."""

    def decorate(handler: Handler) -> Handler:
        COMMANDS[name] = CommandSpec(name, handler, help, read_only, public, hidden, aliases)
        for alias in aliases:
            COMMAND_ALIASES[alias] = name
        return handler

    return decorate


def form(
    name: str,
    *,
    title: str,
    fields: tuple[Field, ...],
    submit_label: str = "Save",
    intro: str = "",
    public: bool = False,
) -> Callable[[Handler], Handler]:
    """Register a form; the decorated function receives (ctx, context, values) when all fields are in.
    `public` forms can be filled in before the account is active (the link code)."""

    def decorate(handler: Handler) -> Handler:
        FORMS[name] = FormSpec(name, title, fields, handler, submit_label, intro, public)
        return handler

    return decorate


def bot_card_extra(function: Handler) -> Handler:
    """Register a function (ctx, subscribed_bot) -> rows of buttons shown on every bot card it returns rows for."""
    BOT_CARD_EXTRAS.append(function)
    return function
