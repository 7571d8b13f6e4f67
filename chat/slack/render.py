"""Core screens → Slack Block Kit: messages, the App Home view, and forms as modals.

`screen_message_kwargs(screen)` is the piece other code reuses (notifications): kwargs for
`client.chat_postMessage(channel=..., **kwargs)`.
"""

from __future__ import annotations

import json
from typing import Any

from chat.screens import Field, FormView, Screen

MAX_SECTION = 3000
MAX_BUTTONS_PER_ACTIONS = 25
ACTION_PREFIX = "ldp."
FORM_CALLBACK_ID = "ldp_form"


def mrkdwn_escape(text: str) -> str:
    """User text never becomes markup or a mention: Slack wants &, <, > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text or " ", "emoji": True}


def _sections(text: str) -> list[dict[str, Any]]:
    body = mrkdwn_escape(text)
    chunks = [body[i : i + MAX_SECTION] for i in range(0, len(body), MAX_SECTION)][:10]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in chunks if chunk.strip()]


def screen_blocks(screen: Screen) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if screen.title:
        blocks.append({"type": "header", "text": _plain(screen.title, 150)})
    blocks += _sections(screen.text)
    for row_index, row in enumerate(screen.rows):
        elements = []
        for col, button in enumerate(row[:MAX_BUTTONS_PER_ACTIONS]):
            element: dict[str, Any] = {"type": "button", "text": _plain(button.label),
                                       "action_id": f"{ACTION_PREFIX}{row_index}.{col}"}
            if button.url:
                element["url"] = button.url
            else:
                element["value"] = button.payload
            if button.style:
                element["style"] = button.style
            elements.append(element)
        if elements:
            blocks.append({"type": "actions", "block_id": f"row{row_index}", "elements": elements})
    return blocks


def screen_fallback_text(screen: Screen) -> str:
    """The notification / screen-reader text of a message."""
    return mrkdwn_escape(f"{screen.title}: {screen.text}" if screen.title else screen.text)[:3000]


def screen_message_kwargs(screen: Screen) -> dict[str, Any]:
    """kwargs for chat.postMessage / chat.update / respond()."""
    return {"text": screen_fallback_text(screen), "blocks": screen_blocks(screen)}


def home_view(screen: Screen) -> dict[str, Any]:
    return {"type": "home", "blocks": screen_blocks(screen)}


def form_modal(form: FormView, *, errors: dict[str, str] | None = None,
               values: dict[str, str] | None = None) -> dict[str, Any]:
    """A form as a modal. Secrets are typed here (never into a channel) and never pre-filled."""
    errors, values = errors or {}, values or {}
    blocks: list[dict[str, Any]] = _sections(form.intro) if form.intro else []
    for item in form.fields:
        blocks.append(_input(item, values.get(item.name, "") if not item.secret else ""))
        if item.name in errors:
            blocks.append({"type": "context", "elements": [
                {"type": "mrkdwn", "text": f":warning: {mrkdwn_escape(errors[item.name])}"}]})
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_ID,
        "private_metadata": json.dumps({"t": form.token, "f": form.form}),
        "title": _plain(form.title, 24),
        "submit": _plain(form.submit_label, 24),
        "close": _plain("Cancel", 24),
        "blocks": blocks,
    }


def _input(item: Field, value: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "multiline": item.multiline,
                               "max_length": 1000}
    if item.hint:
        element["placeholder"] = _plain(item.hint, 150)
    if value:
        element["initial_value"] = value
    block: dict[str, Any] = {"type": "input", "block_id": item.name, "label": _plain(item.label, 2000),
                             "optional": item.optional, "element": element}
    if item.secret:
        block["hint"] = _plain("Kept encrypted; never shown again.", 2000)
    return block


def notice_modal(title: str, screen: Screen) -> dict[str, Any]:
    """What a modal turns into after its form was handled (or while it is handled)."""
    return {"type": "modal", "title": _plain(title, 24), "close": _plain("Close", 24),
            "blocks": _sections(screen.text) or _sections("Done.")}


def form_values(view: dict[str, Any]) -> dict[str, str]:
    """The typed values of a submitted form modal, by field name."""
    values = (view.get("state") or {}).get("values") or {}
    return {name: str((block.get("value") or {}).get("value") or "") for name, block in values.items()}
