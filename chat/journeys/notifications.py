"""Account → Notifications: where notifications go (mute / unmute a chat) and which events reach each app and
the e-mail address. Choices are the notifications app's (notifications.services / selectors); defaults come
from notifications.catalog."""

from __future__ import annotations

from typing import Any

from chat.context import Ctx
from chat.journeys.menu import menu_button
from chat.registry import action
from chat.screens import Button, Screen

CHANNEL_NAMES = {"telegram": "Telegram", "slack": "Slack", "email": "e-mail"}
OFF_REASONS = {
    "user": "muted by you",
    "operator": "switched off by an operator",
    "unreachable": "I could not reach it (was I blocked?) — it comes back when you write to me there",
}


def _preferences(ctx: Ctx) -> Any:
    from notifications.selectors import notification_preferences_get

    return notification_preferences_get(user=ctx.user)


def _is_this_chat(ctx: Ctx, destination: Any) -> bool:
    return ctx.identity is not None and destination.identity_id == ctx.identity.pk


def _destination_line(ctx: Ctx, destination: Any) -> str:
    name = f"This chat ({destination.label})" if _is_this_chat(ctx, destination) else destination.label
    if destination.identity_id is None:  # e-mail
        return f"• {name}" + ("" if destination.available else " — add an address in Account to get e-mails")
    state = "on" if destination.enabled else f"off — {OFF_REASONS.get(destination.off_reason, 'switched off')}"
    unavailable = "" if destination.available else " (this server cannot send there right now)"
    return f"• {name}: {state}{unavailable}"


def _destination_button(ctx: Ctx, destination: Any) -> Button:
    where = "this chat" if _is_this_chat(ctx, destination) else destination.label
    if destination.enabled:
        return ctx.button(f"Mute {where}", "ntd", destination.identity_id, 0)
    return ctx.button(f"Unmute {where}", "ntd", destination.identity_id, 1)


def _channel_button(ctx: Ctx, channel: str) -> Button:
    if channel == "email":
        return ctx.button("Events by e-mail", "ntc", "email")
    if channel == ctx.actor.surface:
        return ctx.button("Events in this app", "ntc", channel)
    return ctx.button(f"Events in {CHANNEL_NAMES.get(channel, channel)}", "ntc", channel)


def notifications_screen(ctx: Ctx, note: str = "") -> Screen:
    preferences = _preferences(ctx)
    chats = [d for d in preferences.destinations if d.identity_id is not None]
    email = next(d for d in preferences.destinations if d.identity_id is None)
    lines = [note] if note else []
    lines += ["Where your notifications go:", *(_destination_line(ctx, d) for d in preferences.destinations), "",
              "Choose which events reach each app and your e-mail."]
    rows: list[list[Button]] = [[_destination_button(ctx, d)] for d in chats]
    channels = list(dict.fromkeys(d.channel for d in chats))
    if email.available:
        channels.append("email")
    buttons = [_channel_button(ctx, channel) for channel in channels]
    rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if not email.available:
        rows.append([ctx.button("Add e-mail", "em")])
    rows.append([ctx.button("« Account", "ac"), menu_button(ctx)])
    return Screen(title="Notifications", text="\n".join(lines), rows=rows)


@action("ntf")
def notifications_action(ctx: Ctx) -> Screen:
    return notifications_screen(ctx)


@action("ntd", int, int, mutates=True)
def destination_toggle(ctx: Ctx, identity_id: int, enabled: int) -> Screen:
    from notifications.services import notification_destination_set

    identity = notification_destination_set(user=ctx.user, identity_id=identity_id, enabled=bool(enabled))
    where = "this chat" if ctx.identity is not None and identity.pk == ctx.identity.pk else "that chat"
    if enabled:
        return notifications_screen(ctx, note=f"Notifications to {where} are back on.")
    return notifications_screen(ctx, note=f"Muted: no notifications to {where} until you unmute it.")


def channel_screen(ctx: Ctx, channel: str, note: str = "") -> Screen:
    from core.errors import NotFound
    from notifications.catalog import events

    if channel not in CHANNEL_NAMES:
        raise NotFound("No such notification channel.")
    preferences = _preferences(ctx)
    where = "by e-mail" if channel == "email" else f"in {CHANNEL_NAMES[channel]}"
    infos = events()
    important = ", ".join(info.label for info in infos if info.critical)
    lines = [note] if note else []
    lines += [
        f"Which events reach you {where}? Tap one to switch it on (✓) or off (✗).",
        f"Keep these on somewhere — missing them can cost money: {important}.",
    ]
    buttons = [
        ctx.button(f"{'✓' if preferences.enabled(info.event, channel) else '✗'} {info.label}", "nte", info.event,
                   channel, 0 if preferences.enabled(info.event, channel) else 1)
        for info in infos
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([ctx.button("« Notifications", "ntf"), menu_button(ctx)])
    return Screen(title="Notification events", text="\n".join(lines), rows=rows)


@action("ntc", str)
def channel_action(ctx: Ctx, channel: str) -> Screen:
    return channel_screen(ctx, channel)


@action("nte", str, str, int, mutates=True)
def event_toggle(ctx: Ctx, event: str, channel: str, enabled: int) -> Screen:
    from notifications.catalog import events
    from notifications.services import notification_preference_set

    notification_preference_set(user=ctx.user, event=event, channel=channel, enabled=bool(enabled))
    label = next((info.label for info in events() if info.event == event), event)
    where = "by e-mail" if channel == "email" else f"in {CHANNEL_NAMES.get(channel, channel)}"
    return channel_screen(ctx, channel, note=f"{label}: {'on' if enabled else 'off'} {where}.")
