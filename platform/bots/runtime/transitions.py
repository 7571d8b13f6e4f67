"""The bot state machine: stopped → starting → running → stopping → stopped, and error with a reason.

    stopped  ──START──▶ starting ──ready──▶ running ──STOP/protection──▶ stopping ──done──▶ stopped
       ▲                   │                  │                             │
       │                   └──fails──▶ error ◀┘ (permanent failure)         └──fails──▶ error
       └───────────── STOP of an errored bot goes through stopping (its orders are cancelled) ─┘

An errored bot may be STARTed again (after the user fixed the cause) or STOPped (clean-up).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from bots.models import BotState, SubscribedBot
from core.errors import Conflict

ALLOWED: dict[str, frozenset[str]] = {
    BotState.STOPPED: frozenset({BotState.STARTING}),
    BotState.STARTING: frozenset({BotState.RUNNING, BotState.STOPPING, BotState.ERROR}),
    BotState.RUNNING: frozenset({BotState.STOPPING, BotState.ERROR}),
    BotState.STOPPING: frozenset({BotState.STOPPED, BotState.ERROR}),
    BotState.ERROR: frozenset({BotState.STARTING, BotState.STOPPING}),
}

REASON_MAX = 300


def _refusal(subscribed_bot: SubscribedBot, to: str) -> str:
    name = subscribed_bot.bot.name
    current = subscribed_bot.state
    if to == BotState.STARTING:
        if current in (BotState.RUNNING, BotState.STARTING):
            return f"{name} is already running."
        if current == BotState.STOPPING:
            return f"{name} is stopping; start it again once it has stopped."
    if to == BotState.STOPPING:
        if current == BotState.STOPPED:
            return f"{name} is already stopped."
        if current == BotState.STOPPING:
            return f"{name} is already stopping."
    return f"{name} cannot go from {current} to {to}."


def transition_check(subscribed_bot: SubscribedBot, to: str) -> None:
    """Raise Conflict (user-facing) unless `subscribed_bot` may move to state `to`."""
    if to not in ALLOWED.get(subscribed_bot.state, frozenset()):
        raise Conflict(_refusal(subscribed_bot, to), extra={"state": subscribed_bot.state})


def transition(subscribed_bot: SubscribedBot, to: str, *, reason: str = "", now: datetime | None = None) -> None:
    """Move the (locked) row to state `to` with a reason, and save just those fields."""
    transition_check(subscribed_bot, to)
    subscribed_bot.state = to
    subscribed_bot.state_reason = reason[:REASON_MAX]
    subscribed_bot.state_changed_at = now or timezone.now()
    subscribed_bot.save(update_fields=["state", "state_reason", "state_changed_at", "updated_at"])
