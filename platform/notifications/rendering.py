"""A stored notification → the chat core's surface-independent Screen (chat.screens), or an e-mail body.

Buttons are signed for the recipient at delivery time (chat.context.Ctx.button), so their age checks
count from when the user got the message. A button whose action the chat core does not (yet) register
is left out: nobody gets a dead button.
"""

from __future__ import annotations

from chat.context import Actor, Ctx
from chat.screens import Button, Screen
from notifications.models import Notification
from users.models import UserStatus


def _registered_actions() -> set[str]:
    from chat import engine
    from chat.registry import ACTIONS

    engine.command_names()  # loads the journeys, which register the actions
    return set(ACTIONS)


def notification_screen(notification: Notification, *, surface: str, external_user_id: str) -> Screen:
    from chat.journeys.menu import menu_button

    ctx = Ctx(actor=Actor(surface=surface, external_user_id=external_user_id), user=notification.user)
    known = _registered_actions()
    rows: list[list[Button]] = []
    for row in notification.buttons or []:
        buttons = [
            ctx.button(spec["label"], spec["code"], *spec.get("args", []), style=spec.get("style", ""))
            for spec in row
            if isinstance(spec, dict) and spec.get("code") in known
        ]
        if buttons:
            rows.append(buttons)
    if not rows and notification.user.status != UserStatus.BLOCKED:  # a blocked account has no menu to go to
        rows.append([menu_button(ctx)])
    return Screen(title=notification.title, text=notification.text, rows=rows)


def email_body(notification: Notification) -> str:
    lines = [notification.text.rstrip(), ""]
    if notification.buttons:
        lines.append("Open your L&D Platform chat (Telegram or Slack) to act on this.")
    lines.append("You can choose which notifications you get by e-mail in the chat's account settings or with "
                 "PATCH /api/v1/users/me/notifications.")
    return "\n".join(lines) + "\n"
