"""Start, main menu, help, cancel, and the short screens the core answers with (blocked, pending, hints)."""

from __future__ import annotations

from chat import engine
from chat.context import Ctx
from chat.registry import COMMANDS, action, command
from chat.screens import Button, Reply, Screen
from core.errors import ApplicationError
from users.models import UserStatus

MENU = "« Menu"


def menu_button(ctx: Ctx) -> Button:
    return ctx.button(MENU, "m")


def cancel_button(ctx: Ctx) -> Button:
    return ctx.button("Cancel", "x")


def _greeting_name(ctx: Ctx) -> str:
    return ctx.actor.username or (ctx.user.first_name if ctx.user else "") or "there"


# --- screens the core uses ------------------------------------------------------------------------------


def blocked_screen(ctx: Ctx) -> Screen:
    return Screen(
        title="Account blocked",
        text="Your account is blocked, so I cannot do anything for you. If you think this is a mistake, "
        "contact the operator of this platform.",
    )


def pending_screen(ctx: Ctx) -> Screen:
    return Screen(
        title="Waiting for approval",
        text="Thanks for signing up! An operator approves new accounts before they can use the platform. "
        "I will message you here as soon as yours is active.",
        rows=[[ctx.button("Help", "h")]],
    )


def not_signed_up_screen(ctx: Ctx) -> Screen:
    return Screen(
        title="Welcome to L&D Platform",
        text=f"Send {ctx.cmd('start')} to create your account (or to link this chat to an existing one).",
        rows=[[ctx.button("Start", "st")]],
    )


def unknown_command_screen(ctx: Ctx, name: str) -> Screen:
    shown = ctx.cmd(name) if name.isascii() and name.replace("_", "").isalnum() else "that command"
    return Screen(text=f"I don't know {shown}. {ctx.cmd('help')} lists what I can do.", rows=_help_rows(ctx))


def hint_screen(ctx: Ctx, text: str) -> Screen:
    return Screen(
        text=f"I didn't understand that. Use the buttons, or {ctx.cmd('help')} for the list of commands.",
        rows=_help_rows(ctx),
    )


def expired_step_screen(ctx: Ctx) -> Screen:
    return Screen(
        text="That step has expired, so I did not use your message. I deleted it in case it held a secret. "
        "Please start again.",
    )


def secret_in_chat_screen(ctx: Ctx) -> Screen:
    return Screen(
        text="Please never paste a secret into the chat: I cannot delete it here. Use the form instead. "
        "If that was a real exchange secret, revoke the key at the exchange and create a new one.",
    )


def _help_rows(ctx: Ctx) -> list[list[Button]]:
    if ctx.user is None:
        return [[ctx.button("Start", "st")]]
    return [[ctx.button("Help", "h"), menu_button(ctx)]]


# --- main menu ----------------------------------------------------------------------------------------------


def home(ctx: Ctx) -> Screen:
    """The dashboard: the user's bots at a glance and the ways into every journey."""
    from chat.journeys import mybots

    summary = mybots.summary_line(ctx)
    return Screen(
        title="L&D Platform",
        text=f"{summary}\n\nWhat would you like to do?",
        rows=[
            [ctx.button("My bots", "bl"), ctx.button("Funds & bots", "cat")],
            [ctx.button("Reports", "ro"), ctx.button("Exchange keys", "kl")],
            [ctx.button("Account", "ac"), ctx.button("Help", "h")],
        ],
    )


@action("m")
def menu_action(ctx: Ctx) -> Screen:
    return home(ctx)


@command("menu", "Main menu", aliases=("home",), read_only=False)
def menu_command(ctx: Ctx, arg: str) -> Screen:
    return home(ctx)


# --- start ---------------------------------------------------------------------------------------------------


def _sign_in(ctx: Ctx) -> bool:
    """Create (or find) the account behind this chat identity; the context switches to it."""
    from users.services import chat_user_get_or_create

    actor = ctx.actor
    user, identity, created = chat_user_get_or_create(
        surface=actor.surface,
        external_user_id=actor.external_user_id,
        team_id=actor.team_id,
        chat_id=actor.chat_id,
        username=actor.username,
    )
    ctx.user, ctx.identity = user, identity
    return created


def _start(ctx: Ctx, code: str = "") -> Reply | Screen:
    created = _sign_in(ctx)
    if code:
        from chat.journeys import account

        return account.redeem(ctx, code)
    assert ctx.user is not None
    if ctx.user.status == UserStatus.BLOCKED:
        return blocked_screen(ctx)
    if ctx.user.status == UserStatus.PENDING:
        return pending_screen(ctx)
    if not created:
        screen = home(ctx)
        screen.text = f"Welcome back, {_greeting_name(ctx)}!\n\n{screen.text}"
        return screen
    return Screen(
        title="Welcome to L&D Platform",
        text=f"Hi {_greeting_name(ctx)}, your account is ready.\n\n"
        "Here you subscribe to trading bots and funds, run them on your own exchange account — first as a "
        "simulation or a dry-run with paper money — and follow their results.\n\n"
        "Already use L&D Platform in another app? Link this chat with a code from there.\n"
        "Optionally add an e-mail address for notifications.",
        rows=[
            [ctx.button("Browse funds & bots", "cat"), ctx.button("Add exchange key", "ka")],
            [ctx.button("I have a link code", "lr"), ctx.button("Add e-mail", "em")],
            [menu_button(ctx)],
        ],
    )


@command("start", "Sign up, or come back to the main menu", public=True, read_only=False)
def start_command(ctx: Ctx, arg: str) -> Reply | Screen:
    # Telegram deep links (t.me/<bot>?start=<code>) arrive as "/start <code>": a link code.
    return _start(ctx, arg)


@action("st", public=True, mutates=False)
def start_action(ctx: Ctx) -> Reply | Screen:
    if not ctx.actor.private:
        return Reply(alert=engine.PRIVATE_ONLY)
    return _start(ctx)


# --- help and cancel ----------------------------------------------------------------------------------------


def help_screen(ctx: Ctx) -> Screen:
    lines = [f"{ctx.cmd(spec.name)} — {spec.help}" for spec in COMMANDS.values() if not spec.hidden]
    if not ctx.actor.private:
        lines.append("\nIn a group I only answer read-only commands; control your bots in a private chat with me.")
    lines.append("\nMost things are buttons: every screen has a way back to the menu.")
    rows = [[menu_button(ctx)]] if ctx.user is not None else [[ctx.button("Start", "st")]]
    return Screen(title="Help", text="\n".join(lines), rows=rows)


@command("help", "This list of commands", public=True)
def help_command(ctx: Ctx, arg: str) -> Screen:
    return help_screen(ctx)


@action("h", public=True)
def help_action(ctx: Ctx) -> Screen:
    return help_screen(ctx)


def _cancel(ctx: Ctx) -> Screen:
    had_form = engine.cancel(ctx)
    text = "Cancelled. Nothing was changed." if had_form else "There was nothing to cancel."
    if ctx.user is None or ctx.user.status != UserStatus.ACTIVE:
        return Screen(text=text)
    screen = home(ctx)
    screen.text = f"{text}\n\n{screen.text}"
    return screen


@command("cancel", "Stop what you are typing in", public=True)
def cancel_command(ctx: Ctx, arg: str) -> Screen:
    return _cancel(ctx)


@action("x", public=True)
def cancel_action(ctx: Ctx) -> Screen:
    return _cancel(ctx)


@action("fsk", str)
def form_skip_action(ctx: Ctx, token: str) -> Reply:
    reply = engine.form_skip(ctx, token)
    reply.edit = False
    return reply


@action("fo", str)
def form_open_action(ctx: Ctx, token: str) -> Reply:
    return engine.reopen_form(ctx, token)


def application_error_screen(ctx: Ctx, error: ApplicationError, *, back: Button | None = None) -> Screen:
    return Screen(text=error.message, rows=[[back or menu_button(ctx)]])
