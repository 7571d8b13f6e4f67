"""Account → API tokens: create (shown once, then removed from the chat), list (name, prefix, last use),
revoke with confirmation. Chat-only users get their API access here (users.services.api_token_create)."""

from __future__ import annotations

from chat import engine, formatting
from chat.context import Ctx
from chat.journeys.menu import menu_button
from chat.registry import action, form
from chat.screens import Field, Reply, Screen

CONFIRM_MAX_AGE = 600


def _private_only(ctx: Ctx) -> Reply | None:
    # Token names and prefixes are nobody else's business: never drawn into a group chat.
    return None if ctx.actor.private else Reply(alert=engine.PRIVATE_ONLY)


def token_list(ctx: Ctx, note: str = "") -> Screen:
    from users.selectors import api_token_list_for_user

    tokens = list(api_token_list_for_user(user=ctx.user))
    lines = [note] if note else []
    for token in tokens:
        used = formatting.when(token.last_used_at, ctx.tz) if token.last_used_at else "never"
        lines.append(f"• {token.name} — {token.prefix}… — created {formatting.day(token.created_at, ctx.tz)}, "
                     f"last used {used}")
    if not tokens:
        lines.append("No API tokens yet.")
    lines.append("\nA token lets a script use the API as you: send it as the header "
                 "Authorization: Bearer <token>. The reference is at /api/docs on this server.")
    rows = [[ctx.button(f"Revoke {token.name}"[:40], "atr", token.pk, style="danger")] for token in tokens]
    rows.append([ctx.button("Create token", "atc", style="primary")])
    rows.append([ctx.button("« Account", "ac"), menu_button(ctx)])
    return Screen(title="API tokens", text="\n".join(lines), rows=rows)


@action("atl")
def token_list_action(ctx: Ctx) -> Reply | Screen:
    return _private_only(ctx) or token_list(ctx)


@action("atc")
def token_create_ask(ctx: Ctx) -> Reply:
    return engine.ask(ctx, "api_token")


@form(
    "api_token",
    title="New API token",
    fields=(Field("name", "A name for the token", hint="What will use it, e.g. laptop script"),),
    submit_label="Create",
)
def token_create(ctx: Ctx, context: dict, values: dict) -> Screen:
    from users.services import api_token_create

    token, plaintext = api_token_create(user=ctx.user, name=values["name"])
    traits = ctx.actor.traits
    if traits.deletes_input:
        after = "Copy it now, then press “Done — I copied it”: I delete this message."
    elif traits.modals:
        after = "Copy it now, then close this dialog: it is not shown again."
    else:
        after = "Copy it now: it is not shown again."
    return Screen(
        title="Your new API token",
        text=f"{plaintext}\n\n"
        f"Token “{token.name}” ({token.prefix}…). This is the only time it is shown: it is stored only as a "
        f"hash and cannot be recovered — if you lose it, revoke it and create another. Keep it like a "
        f"password.\n\n{after}",
        rows=[[ctx.button("Done — I copied it", "atd", token.pk)]],
        ephemeral=True,
    )


@action("atd", int)
def token_copied(ctx: Ctx, token_id: int) -> Reply:
    """The token message goes away; the list comes back in its place."""
    from users.models import ApiToken

    name = ApiToken.objects.filter(user=ctx.user, pk=token_id).values_list("name", flat=True).first()
    note = f"Token “{name}” is ready to use." if name else ""
    return Reply(screen=token_list(ctx, note=note), delete_origin=True)


@action("atr", int)
def token_revoke_confirm(ctx: Ctx, token_id: int) -> Reply | Screen:
    from users.selectors import api_token_get_for_user

    refused = _private_only(ctx)
    if refused:
        return refused
    token = api_token_get_for_user(user=ctx.user, token_id=token_id)
    return Screen(
        title=f"Revoke token {token.name}?",
        text=f"{token.prefix}… stops working at once: scripts using it get “401 unauthorized”. This cannot be "
        "undone (create a new token instead).",
        rows=[[ctx.button("Yes, revoke", "atr!", token.pk, style="danger"), ctx.button("Cancel", "atl")]],
    )


@action("atr!", int, mutates=True, max_age=CONFIRM_MAX_AGE, refresh=lambda ctx, _: token_list(ctx))
def token_revoke(ctx: Ctx, token_id: int) -> Screen:
    from users.services import api_token_revoke

    token = api_token_revoke(user=ctx.user, token_id=token_id)
    return token_list(ctx, note=f"Token “{token.name}” revoked.")
