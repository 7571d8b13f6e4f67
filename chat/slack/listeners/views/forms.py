"""A submitted form modal. The modal is acked at once as "working…" (a key check with the exchange can
take longer than Slack's 3 seconds); then it shows the field errors (form kept) or the result, and the
resulting screen also goes to the user's DM with its buttons — unless it shows a secret once (a new API
token): that stays in the modal only."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from chat import engine
from chat.screens import FormView, Screen
from chat.slack.render import form_modal, form_values, notice_modal
from chat.slack.session import actor_from_body, post_screen


def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
    title = ((view.get("title") or {}).get("text") or "L&D Platform")[:24]
    ack(response_action="update", view=notice_modal(title, Screen(text="Working on it…")))
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        metadata = {}
    values = form_values(view)
    ctx = engine.session_open(actor_from_body(body))
    reply = engine.handle_form_submit(ctx, str(metadata.get("t") or ""), values)
    view_id = view.get("id")
    if reply.field_errors and reply.form is None:
        from chat.registry import FORMS

        spec = FORMS.get(str(metadata.get("f") or ""))
        if spec is not None and not reply.alert:
            form = FormView(form=spec.name, title=spec.title, fields=spec.fields, token=str(metadata.get("t")),
                            submit_label=spec.submit_label, intro=spec.intro)
            client.views_update(view_id=view_id, view=form_modal(form, errors=reply.field_errors, values=values))
            return
    message = reply.alert or (reply.screen.text if reply.screen else "Done.")
    client.views_update(view_id=view_id, view=notice_modal(title, Screen(text=message)))
    if reply.screen is not None and not reply.screen.ephemeral:
        # A screen with a secret shown once (a new API token) stays in the modal: nothing in the DM's history.
        post_screen(client, ctx, reply.screen)
