"""Exchange API keys: add (validated with the exchange), list masked, check again, delete.

The secret is asked last and never echoed. Telegram deletes the message that carried it right after
reading; Slack asks for it in a modal (see chat.engine); it is never stored outside the exchanges app.
"""

from __future__ import annotations

from django.conf import settings

from chat import engine, formatting
from chat.context import Ctx
from chat.journeys.menu import menu_button
from chat.registry import action, command, form
from chat.screens import Field, Reply, Screen

CONFIRM_MAX_AGE = 600


def key_list(ctx: Ctx, note: str = "") -> Screen:
    from exchanges.selectors import exchange_setting_list_for_user

    keys = list(exchange_setting_list_for_user(user=ctx.user))
    lines = [note] if note else []
    for key in keys:
        checked = f", checked {formatting.when(key.validated_at, ctx.tz)}" if key.validated_at else ""
        lines.append(f"• {key.name} — {key.exchange} — {key.api_key_hint} — {key.get_validation_status_display()}"
                     f"{checked}")
        if key.validation_message and key.validation_status != "valid":
            lines.append(f"  {key.validation_message}")
    if not keys:
        lines.append("No exchange keys yet. Bots need one for live-run; simulation and dry-run work without.")
    rows = [
        [ctx.button(f"Check {key.name}", "kc", key.pk), ctx.button(f"Delete {key.name}", "kd", key.pk,
                                                                      style="danger")]
        for key in keys
    ]
    rows.append([ctx.button("Add key", "ka", style="primary")])
    rows.append([menu_button(ctx)])
    return Screen(title="Exchange keys", text="\n".join(lines), rows=rows)


@action("kl")
def key_list_action(ctx: Ctx) -> Screen:
    return key_list(ctx)


@command("keys", "Your exchange API keys", read_only=False)
def keys_command(ctx: Ctx, arg: str) -> Screen:
    return key_list(ctx)


@action("ka")
def key_add_start(ctx: Ctx) -> Reply | Screen:
    exchanges = list(settings.SUPPORTED_EXCHANGES)
    if len(exchanges) == 1:
        return key_add_for(ctx, exchanges[0])
    return Screen(
        title="Add exchange key",
        text="Which exchange is the key for?",
        rows=[*([ctx.button(name, "kae", name)] for name in exchanges), [ctx.button("« Keys", "kl")]],
    )


@action("kae", str)
def key_add_for(ctx: Ctx, exchange: str) -> Reply:
    return engine.ask(ctx, "key_add", {"exchange": exchange})


@form(
    "key_add",
    title="Add exchange key",
    intro="Create an API key at the exchange with trading rights only — never withdrawals — and restrict it "
    "to this server's IP address if the exchange allows it.",
    submit_label="Validate and save",
    fields=(
        Field("name", "A name for this key", hint="For example: Main futures"),
        Field("api_key", "The API key", secret=True),
        Field("api_secret", "The API secret", secret=True),
    ),
)
def key_add_submit(ctx: Ctx, context: dict, values: dict) -> Screen:
    from exchanges.services import exchange_setting_create

    key = exchange_setting_create(
        user=ctx.user,
        name=values["name"],
        exchange=context.get("exchange", ""),
        api_key=values["api_key"],
        api_secret=values["api_secret"],
    )
    return key_list(ctx, note=f"Key {key.name} saved: {key.get_validation_status_display().lower()}.")


@action("kc", int, mutates=True, max_age=CONFIRM_MAX_AGE, refresh=lambda ctx, _: key_list(ctx))
def key_check(ctx: Ctx, exchange_setting_id: int) -> Screen:
    from exchanges.services import exchange_setting_check

    check = exchange_setting_check(user=ctx.user, exchange_setting_id=exchange_setting_id)
    verdict = "valid" if check.valid else "NOT valid"
    return key_list(ctx, note=f"Checked with the exchange: {verdict}. {check.message}".strip())


@action("kd", int)
def key_delete_confirm(ctx: Ctx, exchange_setting_id: int) -> Screen:
    from exchanges.selectors import exchange_setting_get_for_user

    key = exchange_setting_get_for_user(user=ctx.user, exchange_setting_id=exchange_setting_id)
    return Screen(
        title=f"Delete key {key.name}?",
        text=f"{key.exchange}, {key.api_key_hint}. Bots using it cannot run live until you attach another key. "
        "Also revoke the key at the exchange if you no longer use it.",
        rows=[[ctx.button("Yes, delete", "kd!", key.pk, style="danger"), ctx.button("Cancel", "kl")]],
    )


@action("kd!", int, mutates=True, max_age=CONFIRM_MAX_AGE, refresh=lambda ctx, _: key_list(ctx))
def key_delete(ctx: Ctx, exchange_setting_id: int) -> Screen:
    from exchanges.services import exchange_setting_delete

    exchange_setting_delete(user=ctx.user, exchange_setting_id=exchange_setting_id)
    return key_list(ctx, note="Key deleted.")
