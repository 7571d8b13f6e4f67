"""Parameter schemas: one declaration gives a bot its default settings, validates user input, and
describes the fields to settings editors (chat, API, admin).

    schema = ParamSchema([
        Param("fast", "int", 10, min=2, max=200, description="fast moving average, in bars"),
        Param("slow", "int", 30, min=3, max=500, description="slow moving average, in bars"),
    ], checks=[lambda s: s["fast"] < s["slow"] or ("fast", "fast must be below slow")])

    schema.defaults()            -> {"fast": 10, "slow": 30}
    schema.validate({"fast": "12"}) -> {"fast": 12}   (ValidationError(field="fast") when out of range)
    schema.describe()            -> [{"name": "fast", "type": "int", "default": 10, "min": 2, ...}, ...]

Not tied to candle strategies: any bot (e.g. a manual one) can register a schema of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import ValidationError

ParamType = Literal["int", "float", "bool", "str", "choice"]
# A cross-field rule gets the merged settings and returns None (fine) or (field, message).
Check = Callable[[Mapping[str, Any]], "tuple[str, str] | None"]

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    description: str = ""
    label: str = ""
    unit: str = ""  # shown by editors: "%", "x", "bars"
    step: float | None = None  # editor hint
    group: str = "strategy"  # "common" for settings every strategy shares
    pattern: Callable[[str], str] | None = field(default=None, compare=False, repr=False)  # normaliser for str

    def __post_init__(self) -> None:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"choice param {self.name} needs choices")
        if self.default is not None:
            object.__setattr__(self, "default", self.coerce(self.default))

    # -- messages ----------------------------------------------------------------------------------
    def allowed(self) -> str:
        if self.type == "bool":
            return "true or false"
        if self.type == "choice":
            return "one of " + ", ".join(self.choices)
        kind = "a whole number" if self.type == "int" else "a number"
        if self.min is not None and self.max is not None:
            return f"{kind} between {_number(self.min)} and {_number(self.max)}"
        if self.min is not None:
            return f"{kind} of at least {_number(self.min)}"
        if self.max is not None:
            return f"{kind} of at most {_number(self.max)}"
        return kind if self.type != "str" else "text"

    def _fail(self, value: Any) -> ValidationError:
        shown = value if isinstance(value, int | float | bool) else repr(value)
        return ValidationError(f"{self.name} must be {self.allowed()} (got {shown})", field=self.name,
                               extra={"allowed": self.allowed()})

    # -- coercion ----------------------------------------------------------------------------------
    def coerce(self, value: Any) -> Any:
        """The value as this param's type, or ValidationError naming the field and the allowed range."""
        if self.type == "bool":
            return self._coerce_bool(value)
        if self.type in ("int", "float"):
            number = self._coerce_number(value)
            if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
                raise self._fail(value)
            return number
        if not isinstance(value, str):
            raise self._fail(value)
        text = value.strip()
        if self.type == "choice":
            if text not in self.choices:
                raise self._fail(value)
            return text
        if self.pattern is not None:
            try:
                return self.pattern(text)
            except ValidationError as exc:
                raise ValidationError(exc.message, field=self.name) from None
        return text

    def _coerce_bool(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise self._fail(value)

    def _coerce_number(self, value: Any) -> int | float:
        if isinstance(value, bool):
            raise self._fail(value)
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise self._fail(value) from None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self._fail(value) from None
        if not math.isfinite(number):
            raise self._fail(value)
        if self.type == "int":
            if number != int(number):
                raise self._fail(value)
            return int(number)
        return number

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "choices": list(self.choices),
            "description": self.description,
            "label": self.label or self.name.replace("_", " "),
            "unit": self.unit,
            "step": self.step,
            "group": self.group,
            "allowed": self.allowed(),
        }


class ParamSchema:
    def __init__(self, params: Iterable[Param], *, checks: Sequence[Check] = ()):
        self.params: dict[str, Param] = {}
        for param in params:
            if param.name in self.params:
                raise ValueError(f"duplicate param {param.name}")
            self.params[param.name] = param
        self.checks = tuple(checks)

    def __add__(self, other: ParamSchema) -> ParamSchema:
        return ParamSchema([*self.params.values(), *other.params.values()], checks=[*self.checks, *other.checks])

    def __contains__(self, name: str) -> bool:
        return name in self.params

    def __getitem__(self, name: str) -> Param:
        return self.params[name]

    def names(self) -> list[str]:
        return list(self.params)

    def defaults(self) -> dict[str, Any]:
        return {name: param.default for name, param in self.params.items()}

    def describe(self) -> list[dict[str, Any]]:
        """JSON-safe field descriptions, in declaration order, for settings editors."""
        return [param.describe() for param in self.params.values()]

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Coerce and check `values`; return them (only the keys given) in their declared types.

        Unknown keys are refused. Cross-field rules see the schema defaults overlaid with `values`,
        so pass the effective settings (bot defaults + user overrides + changes) to check those rules
        against what will really run.
        """
        cleaned: dict[str, Any] = {}
        for name, value in values.items():
            param = self.params.get(name)
            if param is None:
                raise ValidationError(
                    f"unknown setting {name!r}; known settings: {', '.join(self.params)}", field=name
                )
            cleaned[name] = param.coerce(value)
        merged = {**self.defaults(), **cleaned}
        for check in self.checks:
            problem = check(merged)
            if problem:
                field_name, message = problem
                raise ValidationError(message, field=field_name)
        return cleaned

    def resolve(self, *layers: Mapping[str, Any] | None) -> dict[str, Any]:
        """Effective settings: defaults, then each layer (e.g. bot default, user overrides), validated."""
        merged: dict[str, Any] = {}
        for layer in layers:
            if layer:
                merged.update(layer)
        return {**self.defaults(), **self.validate(merged)}
