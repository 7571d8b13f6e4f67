"""Which events exist, what users get by default, and which are critical.

Defaults: every event on every linked chat (Telegram, Slack); e-mail only for subscription changes, bot
errors, orders that need a person and the account's approval or block — what someone away from chat must
hear.

Critical events are the ones where a missed message can cost money: an interrupted send of them is
resent (at-least-once, a rare duplicate) rather than given up (at-most-once) — see README "Notifications".
"""

from __future__ import annotations

from dataclasses import dataclass

from notifications.models import Channel, EventType

CHAT_CHANNELS = (Channel.TELEGRAM, Channel.SLACK)
EMAIL_BY_DEFAULT = frozenset({
    EventType.SUBSCRIPTION_CHANGED, EventType.BOT_ERROR, EventType.ORDER_ATTENTION, EventType.ACCOUNT_APPROVED,
    EventType.ACCOUNT_BLOCKED,
})
CRITICAL = frozenset({EventType.BOT_ERROR, EventType.ORDER_ATTENTION})

# bots.models.BotEventKind -> the event users choose in their preferences.
BOT_EVENT_TYPES: dict[str, EventType] = {
    "started": EventType.BOT_STARTED,
    "stopped": EventType.BOT_STOPPED,
    "error": EventType.BOT_ERROR,
    "order_filled": EventType.ORDER_FILLED,
    "trade_closed": EventType.TRADE_CLOSED,
    "protection": EventType.PROTECTION,
    "signal": EventType.SIGNAL,
    "settings_applied": EventType.SETTINGS_APPLIED,
}

DESCRIPTIONS: dict[str, str] = {
    EventType.BOT_STARTED: "A bot started trading (dry-run or live).",
    EventType.BOT_STOPPED: "A bot stopped.",
    EventType.BOT_ERROR: "A bot stopped because of an error.",
    EventType.ORDER_FILLED: "An order of one of your bots was filled.",
    EventType.TRADE_CLOSED: "A trade was closed, with its profit or loss.",
    EventType.PROTECTION: "A protection paused a bot (daily loss limit, stop-loss streak).",
    EventType.SIGNAL: "An indicator bot sent a signal.",
    EventType.SETTINGS_APPLIED: "New settings took effect on a running bot.",
    EventType.SIMULATION_FINISHED: "A simulation you started has finished.",
    EventType.SUBSCRIPTION_CHANGED: "A fund subscription started, was approved, cancelled or resumed.",
    EventType.ORDER_ATTENTION: "An order's state is unknown and needs you to re-sync or cancel it.",
    EventType.ACCOUNT_APPROVED: "An operator approved your new account.",
    EventType.ACCOUNT_BLOCKED: "An operator blocked your account (its running bots are stopped).",
}


@dataclass(frozen=True)
class EventInfo:
    event: str
    label: str
    description: str
    critical: bool


def default_enabled(event: str, channel: str) -> bool:
    if channel in CHAT_CHANNELS:
        return True
    return channel == Channel.EMAIL and event in EMAIL_BY_DEFAULT


def is_critical(event: str) -> bool:
    return event in CRITICAL


def events() -> list[EventInfo]:
    return [
        EventInfo(event=value, label=label, description=DESCRIPTIONS[value], critical=is_critical(value))
        for value, label in EventType.choices
    ]
