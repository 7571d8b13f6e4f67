"""Account: e-mail, time zone, linking a second chat (Telegram ↔ Slack) with a one-time code; the ways into
notification preferences (chat.journeys.notifications) and API tokens (chat.journeys.tokens)."""

from __future__ import annotations

from chat import engine, formatting
from chat.context import Ctx
from chat.journeys.menu import menu_button
from chat.registry import action, command, form
from chat.screens import Field, Reply, Screen
from users.models import ChatSurface

COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Asia/Singapore",
)


def _back(ctx: Ctx):
    return ctx.button("« Account", "ac")


def account_screen(ctx: Ctx, note: str = "") -> Screen:
    from users.selectors import chat_identity_list_for_user

    user = ctx.user
    assert user is not None
    chats = [
        f"{ChatSurface(identity.surface).label} {identity.username or identity.external_user_id}"
        + (" (this chat)" if ctx.identity is not None and identity.pk == ctx.identity.pk else "")
        for identity in chat_identity_list_for_user(user=user)
    ]
    local_now = formatting.when(ctx.now, user.timezone)
    lines = [note] if note else []
    lines += [
        f"Status: {user.get_status_display()}",
        f"E-mail for notifications: {user.email or 'not set'}",
        f"Time zone: {user.timezone} (now {local_now})",
        "Linked chats: " + (", ".join(chats) or "none"),
    ]
    rows = [
        [ctx.button("Change e-mail" if user.email else "Add e-mail", "em"), ctx.button("Time zone", "tz")],
        [ctx.button("Link another chat", "lk"), ctx.button("I have a link code", "lr")],
        [ctx.button("Notifications", "ntf"), ctx.button("API tokens", "atl")],
    ]
    if user.email:
        rows.insert(1, [ctx.button("Remove e-mail", "emx", style="danger")])
    rows.append([menu_button(ctx)])
    return Screen(title="Account", text="\n".join(lines), rows=rows)


@action("ac")
def account_action(ctx: Ctx) -> Screen:
    return account_screen(ctx)


@command("account", "Your e-mail, time zone and linked chats", read_only=False)
def account_command(ctx: Ctx, arg: str) -> Screen:
    return account_screen(ctx)


# --- e-mail ---------------------------------------------------------------------------------------------------


@action("em")
def email_ask(ctx: Ctx) -> Reply:
    return engine.ask(ctx, "email")


@form(
    "email",
    title="E-mail for notifications",
    fields=(Field("email", "Your e-mail address", hint="Bot events and reports can also go there."),),
)
def email_submit(ctx: Ctx, context: dict, values: dict) -> Screen:
    from users.services import user_settings_update

    assert ctx.user is not None
    ctx.user = user_settings_update(user=ctx.user, email=values["email"])
    return account_screen(ctx, note="E-mail saved.")


@action("emx", mutates=True)
def email_remove(ctx: Ctx) -> Screen:
    from users.services import user_settings_update

    assert ctx.user is not None
    ctx.user = user_settings_update(user=ctx.user, email="")
    return account_screen(ctx, note="E-mail removed.")


# --- time zone ------------------------------------------------------------------------------------------------


@action("tz")
def timezone_choose(ctx: Ctx) -> Screen:
    buttons = [ctx.button(name, "tzs", name) for name in COMMON_ZONES]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([ctx.button("Type another…", "tzt")])
    rows.append([_back(ctx)])
    return Screen(
        title="Time zone",
        text="Times in reports and notifications are shown in this zone. Pick one, or type any IANA name "
        "(e.g. Europe/Paris).",
        rows=rows,
    )


@action("tzs", str, mutates=True)
def timezone_set(ctx: Ctx, name: str) -> Screen:
    from users.services import user_settings_update

    assert ctx.user is not None
    ctx.user = user_settings_update(user=ctx.user, timezone=name)
    return account_screen(ctx, note=f"Time zone set to {ctx.user.timezone}.")


@action("tzt")
def timezone_ask(ctx: Ctx) -> Reply:
    return engine.ask(ctx, "timezone")


@form(
    "timezone",
    title="Time zone",
    fields=(Field("timezone", "Your time zone", hint="An IANA name, e.g. Europe/Paris or America/Chicago."),),
)
def timezone_submit(ctx: Ctx, context: dict, values: dict) -> Screen:
    from users.services import user_settings_update

    assert ctx.user is not None
    ctx.user = user_settings_update(user=ctx.user, timezone=values["timezone"])
    return account_screen(ctx, note=f"Time zone set to {ctx.user.timezone}.")


# --- linking --------------------------------------------------------------------------------------------------


@action("lk", mutates=True)
def link_code_show(ctx: Ctx) -> Screen:
    from users.services import link_code_create

    assert ctx.user is not None
    code = link_code_create(user=ctx.user)
    return Screen(
        title="Link another chat",
        text=f"Your one-time link code: {code}\n\n"
        "It works once, within 10 minutes. In the other app send:\n"
        f"• Telegram: /link {code}\n"
        f"• Slack: /ldp link {code}\n\n"
        "That chat then uses this same account: bots, keys and reports.",
        rows=[[_back(ctx), menu_button(ctx)]],
    )


def redeem(ctx: Ctx, code: str) -> Screen:
    """Join this chat identity to the account that made `code` (the identity must exist: /start made it)."""
    from users.services import link_code_redeem

    assert ctx.identity is not None
    ctx.user = link_code_redeem(identity=ctx.identity, code=code)
    ctx.identity.refresh_from_db()
    return account_screen(ctx, note=f"Linked: this {ctx.actor.traits.name} chat now uses your account.")


@command("link", "Link this chat to your account with a one-time code", public=True, read_only=False)
def link_command(ctx: Ctx, arg: str) -> Reply | Screen:
    from chat.journeys.menu import _sign_in

    _sign_in(ctx)  # a brand-new chat gets a placeholder account, merged away by the redeem
    if not arg:
        return engine.ask(ctx, "link")
    return redeem(ctx, arg)


@action("lr", public=True)
def link_ask(ctx: Ctx) -> Reply:
    return engine.ask(ctx, "link")


@form(
    "link",
    title="Link this chat",
    public=True,
    fields=(Field("code", "The link code", hint="Create it in the other app: Account → Link another chat."),),
)
def link_submit(ctx: Ctx, context: dict, values: dict) -> Screen:
    return redeem(ctx, values["code"])
