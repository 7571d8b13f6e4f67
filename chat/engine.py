"""The core's entry points. Renderers call these (ORM-bound, so async adapters use sync_to_async).

    ctx = session_open(actor)            # resolve identity and account once per update
    handle_command(ctx, "bots", "")      # /bots, /ldp bots
    handle_action(ctx, payload)          # a button
    handle_text(ctx, text)               # a typed message: a form step, or a hint
    handle_form_submit(ctx, token, {..}) # a whole form at once (Slack modal)

Nothing here raises to the renderer: forged, stale or malformed input, business refusals and bugs all
come back as a short message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chat import payloads, state
from chat.context import Actor, Ctx
from chat.registry import ACTIONS, COMMAND_ALIASES, COMMANDS, FORMS, ArgError, FormSpec
from chat.screens import Field, FormView, Reply, Screen
from core.crypto import decrypt_text, encrypt_text
from core.errors import ApplicationError
from users.models import UserStatus

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 1000  # a typed value longer than this is junk for every form we have
MAX_COMMAND_ARG_LENGTH = 200
CLOCK_SKEW = timedelta(minutes=2)

BAD_BUTTON = "This button is not valid. Here is the menu."
STALE = "This screen is out of date — here is the current one."
TWICE = "Already done: that button was pressed twice."
OOPS = "Something went wrong on our side. Please try again in a minute."
PRIVATE_ONLY = "For your safety, bots are controlled in a private chat with me, not in a group."


def _journeys_loaded() -> None:
    import chat.journeys  # noqa: F401  (registers commands, actions and forms)


def session_open(actor: Actor) -> Ctx:
    """The context of one update; identity and account are looked up once (None before /start)."""
    from users.selectors import chat_identity_get

    _journeys_loaded()
    identity = chat_identity_get(surface=actor.surface, external_user_id=actor.external_user_id, team_id=actor.team_id)
    if identity is not None and not identity.notifications_enabled:
        from notifications.services import notification_identity_reachable

        # The person wrote to us, so the chat works again (e.g. the bot was blocked, then unblocked):
        # notifications switched off as "unreachable" resume; a chat they muted stays muted.
        notification_identity_reachable(identity=identity)
    return Ctx(actor=actor, identity=identity, user=identity.user if identity is not None else None)


# --- gate -------------------------------------------------------------------------------------------------


def _gate(ctx: Ctx, *, public: bool, read_only: bool) -> Reply | None:
    """Who may do what: account status and group chats. None means go ahead."""
    from chat.journeys import menu

    if ctx.user is not None and ctx.user.status == UserStatus.BLOCKED:
        return Reply(screen=menu.blocked_screen(ctx))
    if not public:
        if ctx.user is None:
            return Reply(screen=menu.not_signed_up_screen(ctx))
        if ctx.user.status != UserStatus.ACTIVE:
            return Reply(screen=menu.pending_screen(ctx))
    if not read_only and not ctx.actor.private:
        return Reply(alert=PRIVATE_ONLY, screen=Screen(text=PRIVATE_ONLY))
    return None


def _as_reply(result: Reply | Screen | None, *, edit: bool) -> Reply:
    if isinstance(result, Reply):
        return result
    return Reply(screen=result, edit=edit)


def _run(ctx: Ctx, call: Callable[[], Any], *, edit: bool, on_error: Callable[[], None] | None = None) -> Reply:
    try:
        return _finish(ctx, _as_reply(call(), edit=edit))
    except ApplicationError as error:
        if on_error:
            on_error()
        return Reply(alert=error.message, screen=None if edit else _error_screen(ctx, error.message))
    except Exception:
        if on_error:
            on_error()
        logger.exception("chat handler failed for %s", ctx.actor.surface)
        return Reply(alert=OOPS, screen=None if edit else _error_screen(ctx, OOPS))


def _error_screen(ctx: Ctx, message: str) -> Screen:
    from chat.journeys import menu

    return Screen(text=message, rows=[[menu.menu_button(ctx)]])


def _finish(ctx: Ctx, reply: Reply) -> Reply:
    """No dead ends: a screen for an account that can act always offers a way back."""
    from chat.journeys import menu

    can_act = ctx.user is not None and ctx.user.status != UserStatus.BLOCKED
    for screen in [reply.screen, *reply.extra]:
        if screen is not None and can_act and not screen.rows and not screen.poll:
            screen.rows.append([menu.menu_button(ctx)])
    return reply


# --- commands ---------------------------------------------------------------------------------------------


def command_names() -> list[str]:
    _journeys_loaded()
    return sorted(COMMANDS)


def handle_command(ctx: Ctx, name: str, arg: str = "") -> Reply:
    _journeys_loaded()
    name = (name or "").strip().lower()
    name = COMMAND_ALIASES.get(name, name)
    spec = COMMANDS.get(name)
    if spec is None:
        from chat.journeys import menu

        gate = _gate(ctx, public=True, read_only=True)
        return gate or _finish(ctx, Reply(screen=menu.unknown_command_screen(ctx, name[:40])))
    gate = _gate(ctx, public=spec.public, read_only=spec.read_only)
    if gate is not None:
        return gate
    arg = (arg or "").strip()[:MAX_COMMAND_ARG_LENGTH]
    return _run(ctx, lambda: spec.handler(ctx, arg), edit=False)


# --- buttons ----------------------------------------------------------------------------------------------


def _bad_button(ctx: Ctx) -> Reply:
    from chat.journeys import menu

    if ctx.user is None:
        return Reply(alert=BAD_BUTTON, screen=menu.not_signed_up_screen(ctx))
    return Reply(alert=BAD_BUTTON)


def handle_action(ctx: Ctx, raw: object) -> Reply:
    _journeys_loaded()
    try:
        payload = payloads.decode(raw, owner_id=ctx.owner_id)
        spec = ACTIONS[payload.code]
        args = spec.parse_args(payload.args)
    except (payloads.PayloadError, KeyError, ArgError):
        logger.info("refused a button from %s: invalid payload", ctx.actor.surface)
        return _bad_button(ctx)
    if payload.issued_at > ctx.now + CLOCK_SKEW:
        return _bad_button(ctx)
    gate = _gate(ctx, public=spec.public, read_only=not spec.mutates)
    if gate is not None:
        return gate
    if spec.max_age is not None and ctx.now - payload.issued_at > timedelta(seconds=spec.max_age):
        refresh = spec.refresh
        assert refresh is not None
        reply = _run(ctx, lambda: refresh(ctx, *args), edit=True)
        reply.alert = STALE if not reply.alert else reply.alert
        return reply
    on_error = None
    if spec.mutates:
        signature = str(raw).rpartition(payloads.SEPARATOR)[2]
        ttl = spec.max_age or 24 * 3600
        if not state.tap_first(ctx.owner_id, signature, ttl=ttl):
            return Reply(alert=TWICE)

        def on_error() -> None:  # a refused action may be retried with the same button
            state.tap_forget(ctx.owner_id, signature)

    return _run(ctx, lambda: spec.handler(ctx, *args), edit=True, on_error=on_error)


# --- forms ------------------------------------------------------------------------------------------------


def ask(ctx: Ctx, form_name: str, context: dict[str, Any] | None = None, *, note: str = "") -> Reply:
    """Start a form for this chat identity. Step-by-step surfaces get the first question now; modal
    surfaces (Slack) open `reply.form`."""
    if not ctx.actor.private:
        # Typed input (keys, secrets, values) never goes into a group chat.
        return Reply(alert=PRIVATE_ONLY, screen=Screen(text=PRIVATE_ONLY))
    spec = FORMS[form_name]
    token = payloads.new_nonce() + payloads.new_nonce()
    form_state = {"form": form_name, "context": context or {}, "values": {}, "step": 0, "token": token}
    state.form_state_set(ctx.actor.key, form_state)
    if any(item.secret for item in spec.fields):
        state.secret_guard_set(ctx.actor.key)
    view = FormView(
        form=form_name,
        title=spec.title,
        fields=spec.fields,
        token=token,
        submit_label=spec.submit_label,
        intro="\n\n".join(part for part in (note, spec.intro) if part),
    )
    return Reply(screen=_prompt(ctx, spec, form_state, note=note), form=view)


def reopen_form(ctx: Ctx, token: str) -> Reply:
    """The form in progress again (Slack: a button that opens the modal when no trigger was at hand)."""
    form_state = state.form_state_get(ctx.actor.key)
    if form_state is None or form_state.get("token") != token:
        return Reply(alert="That form has expired. Please start again.")
    spec = FORMS[form_state["form"]]
    return ask(ctx, spec.name, form_state.get("context") or {})


def _prompt(ctx: Ctx, spec: FormSpec, form_state: dict[str, Any], *, note: str = "") -> Screen:
    from chat.journeys import menu

    step = form_state["step"]
    item: Field = spec.fields[step]
    lines = [note] if note else []
    if step == 0 and spec.intro:
        lines.append(spec.intro)
    counter = f"Step {step + 1} of {len(spec.fields)}: " if len(spec.fields) > 1 else ""
    lines.append(f"{counter}{item.label}")
    if item.hint:
        lines.append(item.hint)
    if item.secret and ctx.actor.traits.deletes_input:
        lines.append("I delete your message as soon as I have read it.")
    lines.append(f"Send it as a message, or {ctx.cmd('cancel')} to stop.")
    rows = [[ctx.button("Skip", "fsk", form_state["token"])]] if item.optional else []
    rows.append([menu.cancel_button(ctx)])
    return Screen(title=spec.title, text="\n\n".join(lines), rows=rows)


def input_is_sensitive(ctx: Ctx) -> bool:
    """Should the message the user just sent be deleted before anything else? (It may hold a secret.)"""
    form_state = state.form_state_get(ctx.actor.key)
    if form_state is not None:
        spec = FORMS.get(form_state.get("form", ""))
        step = form_state.get("step", 0)
        return bool(spec and step < len(spec.fields) and spec.fields[step].secret)
    return state.secret_guard_active(ctx.actor.key)


def cancel(ctx: Ctx) -> bool:
    state.secret_guard_clear(ctx.actor.key)
    return state.form_state_clear(ctx.actor.key)


def handle_text(ctx: Ctx, text: str) -> Reply:
    """A typed message: the next step of a form, else a hint. Group chats: ignored (commands only)."""
    from chat.journeys import menu

    _journeys_loaded()
    if not ctx.actor.private:
        return Reply()
    form_state = state.form_state_get(ctx.actor.key)
    spec = FORMS.get(form_state.get("form", "")) if form_state else None
    gate = _gate(ctx, public=spec.public if spec else False, read_only=True)
    if gate is not None:
        return gate
    text = text if isinstance(text, str) else ""
    if form_state is None or spec is None:
        if state.secret_guard_active(ctx.actor.key):
            state.secret_guard_clear(ctx.actor.key)
            return _finish(ctx, Reply(screen=menu.expired_step_screen(ctx), delete_input=True))
        return _finish(ctx, Reply(screen=menu.hint_screen(ctx, text)))
    item = spec.fields[form_state["step"]]
    if item.secret and not ctx.actor.traits.deletes_input and ctx.actor.traits.modals:
        # A surface that cannot delete the message: never take a secret from the chat history.
        cancel(ctx)
        return _finish(ctx, Reply(screen=menu.secret_in_chat_screen(ctx)))
    value = text.strip()
    if len(value) > MAX_TEXT_LENGTH:
        screen = _prompt(ctx, spec, form_state, note=f"That is too long (at most {MAX_TEXT_LENGTH} characters).")
        return Reply(screen=screen, delete_input=item.secret)
    if not value and not item.optional:
        return Reply(screen=_prompt(ctx, spec, form_state, note="Please type a value."), delete_input=item.secret)
    return _form_step(ctx, spec, form_state, value, delete_input=item.secret)


def form_skip(ctx: Ctx, token: str) -> Reply:
    form_state = state.form_state_get(ctx.actor.key)
    spec = FORMS.get(form_state.get("form", "")) if form_state else None
    if form_state is None or spec is None or form_state.get("token") != token:
        return Reply(alert="That step has expired. Please start again.")
    if not spec.fields[form_state["step"]].optional:
        return Reply(alert="This step cannot be skipped.")
    return _form_step(ctx, spec, form_state, "", delete_input=False)


def _form_step(ctx: Ctx, spec: FormSpec, form_state: dict[str, Any], value: str, *, delete_input: bool) -> Reply:
    item = spec.fields[form_state["step"]]
    form_state["values"][item.name] = encrypt_text(value) if item.secret else value
    form_state["step"] += 1
    if form_state["step"] < len(spec.fields):
        state.form_state_set(ctx.actor.key, form_state)
        return _finish(ctx, Reply(screen=_prompt(ctx, spec, form_state), delete_input=delete_input))
    values = {
        field.name: decrypt_text(form_state["values"][field.name]) if field.secret else form_state["values"][field.name]
        for field in spec.fields
    }
    reply = _submit(ctx, spec, form_state, values, modal=False)
    reply.delete_input = reply.delete_input or delete_input
    return reply


def handle_form_submit(ctx: Ctx, token: str, values: dict[str, str]) -> Reply:
    """A whole form at once (Slack modal). Errors come back in `field_errors`; the modal stays open."""
    _journeys_loaded()
    form_state = state.form_state_get(ctx.actor.key)
    spec = FORMS.get(form_state.get("form", "")) if form_state else None
    gate = _gate(ctx, public=spec.public if spec else False, read_only=True)
    if gate is not None:
        return Reply(alert=gate.alert or (gate.screen.text if gate.screen else OOPS))
    if form_state is None or spec is None or form_state.get("token") != token:
        first = next(iter(values), "")
        message = "This form has expired. Close it and start again."
        return Reply(field_errors={first: message} if first else {}, alert=message)
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}
    for item in spec.fields:
        value = str(values.get(item.name) or "").strip()
        if len(value) > MAX_TEXT_LENGTH:
            errors[item.name] = f"At most {MAX_TEXT_LENGTH} characters."
        elif not value and not item.optional:
            errors[item.name] = "Please fill this in."
        cleaned[item.name] = value
    if errors:
        return Reply(field_errors=errors)
    return _submit(ctx, spec, form_state, cleaned, modal=True)


def _submit(ctx: Ctx, spec: FormSpec, form_state: dict[str, Any], values: dict[str, str], *, modal: bool) -> Reply:
    context = form_state.get("context") or {}
    try:
        result = spec.submit(ctx, context, values)
    except ApplicationError as error:
        return _submit_refused(ctx, spec, form_state, error, modal=modal)
    except Exception:
        logger.exception("chat form %s failed", spec.name)
        cancel(ctx)
        return _finish(ctx, Reply(alert=OOPS, screen=_error_screen(ctx, OOPS)))
    cancel(ctx)
    return _finish(ctx, _as_reply(result, edit=False))


def _submit_refused(
    ctx: Ctx, spec: FormSpec, form_state: dict[str, Any], error: ApplicationError, *, modal: bool
) -> Reply:
    """Invalid input changes nothing: ask again — the named field, or (no field) the whole form."""
    index = spec.field_index(error.field)
    if index is None and len(spec.fields) == 1:
        index = 0
    if modal:
        target = spec.fields[index if index is not None else len(spec.fields) - 1]
        return Reply(field_errors={target.name: error.message})
    form_state["step"] = index if index is not None else 0
    keep = spec.fields[: form_state["step"]]
    form_state["values"] = {item.name: form_state["values"][item.name] for item in keep}
    state.form_state_set(ctx.actor.key, form_state)
    if any(item.secret for item in spec.fields[form_state["step"]:]):
        state.secret_guard_set(ctx.actor.key)
    return _finish(ctx, Reply(screen=_prompt(ctx, spec, form_state, note=error.message)))


# --- dashboards -------------------------------------------------------------------------------------------


def home_screen(ctx: Ctx) -> Screen:
    """The dashboard (Slack App Home; also the main menu's content)."""
    from chat.journeys import menu

    _journeys_loaded()
    gate = _gate(ctx, public=False, read_only=True)
    if gate is not None and gate.screen is not None:
        return gate.screen
    try:
        return menu.home(ctx)
    except Exception:
        logger.exception("chat home failed")
        return Screen(text=OOPS)
