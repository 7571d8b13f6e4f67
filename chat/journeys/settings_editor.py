"""Settings editor, built from the strategy's parameter schema: pick a field, change it with buttons
(+/−, choices, on/off) or by typing a value. The bots service validates every change through the schema;
an invalid value is refused with the allowed range and changes nothing."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from chat import engine, formatting
from chat.context import Ctx
from chat.journeys.menu import menu_button
from chat.registry import action, form
from chat.screens import Button, Field, Reply, Screen


def _describe(strategy: str) -> list[dict[str, Any]]:
    """The strategy's parameters as editors see them (name, label, type, min, max, step, choices, …)."""
    from trading.strategies.registry import strategy_settings_describe

    return strategy_settings_describe(strategy)


def _get(ctx: Ctx, subscribed_bot_id: int) -> Any:
    from bots.selectors import subscribed_bot_get_for_user

    return subscribed_bot_get_for_user(user=ctx.user, subscribed_bot_id=subscribed_bot_id)


def _values(subscribed_bot: Any) -> dict[str, Any]:
    from bots.selectors import subscribed_bot_effective_settings

    return subscribed_bot_effective_settings(subscribed_bot=subscribed_bot)


def _label(param: dict[str, Any]) -> str:
    return str(param.get("label") or param["name"])


def _kind(param: dict[str, Any]) -> str:
    kind = str(param.get("kind") or param.get("type") or "str").lower()
    return {"integer": "int", "float": "decimal", "number": "decimal", "boolean": "bool", "enum": "choice"}.get(
        kind, kind
    )


def _allowed(param: dict[str, Any]) -> str:
    return str(param.get("allowed") or "")


def _shown(param: dict[str, Any], value: Any) -> str:
    unit = param.get("unit") or ""
    text = formatting.quantity(value) if not isinstance(value, bool) else ("on" if value else "off")
    return f"{text} {unit}".strip() if unit and unit != "x" else f"{text}{unit}"


def editor(ctx: Ctx, subscribed_bot_id: int, note: str = "") -> Screen:
    subscribed_bot = _get(ctx, subscribed_bot_id)
    params = _describe(subscribed_bot.bot.strategy)
    values = _values(subscribed_bot)
    overrides = subscribed_bot.user_bot_setting or {}
    lines = [note] if note else []
    lines.append("Pick a setting to change. Changes apply at the next start.")
    buttons: list[Button] = []
    for index, param in enumerate(params):
        name = param["name"]
        marker = "" if name in overrides else " (default)"
        lines.append(f"• {_label(param)}: {_shown(param, values.get(name, param.get('default')))}{marker}")
        buttons.append(ctx.button(_label(param), "sf", subscribed_bot.pk, index))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([ctx.button("« Bot", "b", subscribed_bot.pk), menu_button(ctx)])
    return Screen(title=f"{subscribed_bot.bot.name}: settings", text="\n".join(lines), rows=rows)


@action("se", int)
def editor_action(ctx: Ctx, subscribed_bot_id: int) -> Screen:
    return editor(ctx, subscribed_bot_id)


def _param(ctx: Ctx, subscribed_bot: Any, index: int) -> dict[str, Any]:
    params = _describe(subscribed_bot.bot.strategy)
    if not 0 <= index < len(params):
        from core.errors import NotFound

        raise NotFound("That setting does not exist (any more).")
    return params[index]


def _step_buttons(ctx: Ctx, pk: int, index: int, param: dict[str, Any], current: Any) -> list[Button]:
    try:
        value = Decimal(str(current))
        step = Decimal(str(param.get("step") or 1))
    except (InvalidOperation, ValueError):
        return []
    buttons = []
    for multiple in (-5, -1, 1, 5):
        target = value + step * multiple
        label = f"{'+' if multiple > 0 else '−'}{formatting.quantity(abs(step * multiple))}"
        text = str(int(target)) if _kind(param) == "int" else format(target.normalize(), "f")
        buttons.append(ctx.button(label, "sv", pk, index, text))
    return buttons


def field_screen(ctx: Ctx, subscribed_bot_id: int, index: int, note: str = "") -> Screen:
    subscribed_bot = _get(ctx, subscribed_bot_id)
    param = _param(ctx, subscribed_bot, index)
    current = _values(subscribed_bot).get(param["name"], param.get("default"))
    pk = subscribed_bot.pk
    lines = [note] if note else []
    lines += [str(param.get("description") or ""),
              f"Current: {_shown(param, current)}",
              f"Default: {_shown(param, param.get('default'))}"]
    allowed = _allowed(param)
    if allowed:
        lines.append(f"Allowed: {allowed}")
    rows: list[list[Button]] = []
    kind = _kind(param)
    if kind in ("int", "decimal"):
        rows.append(_step_buttons(ctx, pk, index, param, current))
    elif kind == "bool":
        rows.append([ctx.button("On", "sv", pk, index, "true"), ctx.button("Off", "sv", pk, index, "false")])
    elif param.get("choices"):
        choices = [ctx.button(str(choice), "sc", pk, index, position)
                   for position, choice in enumerate(param["choices"])]
        rows += [choices[i : i + 3] for i in range(0, len(choices), 3)]
    rows.append([ctx.button("Type a value", "st?", pk, index), ctx.button("Reset to default", "sr", pk, index)])
    rows.append([ctx.button("« Settings", "se", pk), menu_button(ctx)])
    return Screen(title=f"{subscribed_bot.bot.name}: {_label(param)}", text="\n".join(filter(None, lines)),
                  rows=[row for row in rows if row])


@action("sf", int, int)
def field_action(ctx: Ctx, subscribed_bot_id: int, index: int) -> Screen:
    return field_screen(ctx, subscribed_bot_id, index)


def _change(ctx: Ctx, subscribed_bot_id: int, index: int, value: Any) -> Screen:
    from bots.services import subscribed_bot_settings_update

    subscribed_bot = _get(ctx, subscribed_bot_id)
    param = _param(ctx, subscribed_bot, index)
    subscribed_bot_settings_update(user=ctx.user, subscribed_bot_id=subscribed_bot.pk, changes={param["name"]: value})
    shown = "the default" if value is None else _shown(param, value)
    return field_screen(ctx, subscribed_bot.pk, index, note=f"Saved: {_label(param)} = {shown}.")


@action("sv", int, int, str, mutates=True)
def value_set(ctx: Ctx, subscribed_bot_id: int, index: int, value: str) -> Screen:
    return _change(ctx, subscribed_bot_id, index, value)


@action("sc", int, int, int, mutates=True)
def choice_set(ctx: Ctx, subscribed_bot_id: int, index: int, position: int) -> Screen:
    subscribed_bot = _get(ctx, subscribed_bot_id)
    choices = list(_param(ctx, subscribed_bot, index).get("choices") or [])
    if not 0 <= position < len(choices):
        from core.errors import ValidationError

        raise ValidationError("That choice is no longer offered.")
    return _change(ctx, subscribed_bot_id, index, choices[position])


@action("sr", int, int, mutates=True)
def value_reset(ctx: Ctx, subscribed_bot_id: int, index: int) -> Screen:
    return _change(ctx, subscribed_bot_id, index, None)


@action("st?", int, int)
def value_ask(ctx: Ctx, subscribed_bot_id: int, index: int) -> Reply:
    subscribed_bot = _get(ctx, subscribed_bot_id)
    param = _param(ctx, subscribed_bot, index)
    allowed = _allowed(param)
    return engine.ask(
        ctx,
        "setting_value",
        {"subscribed_bot_id": subscribed_bot.pk, "index": index},
        note=f"New value for {_label(param)}" + (f" ({allowed})" if allowed else "") + ".",
    )


@form("setting_value", title="Change a setting", fields=(Field("value", "The new value"),))
def value_typed(ctx: Ctx, context: dict, values: dict) -> Screen:
    return _change(ctx, int(context["subscribed_bot_id"]), int(context["index"]), values["value"])
