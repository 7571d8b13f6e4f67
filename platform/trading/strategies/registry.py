"""Which strategies exist, by name. Bots name theirs in `Bot.strategy`.

Built-in candle strategies live in this package and register themselves on import. Other bot kinds
(e.g. a manual bot) register a class with `name` and `params` (a ParamSchema) the same way, with
`@strategy_register`, from a module listed in PLUGIN_MODULES.
"""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

from core.errors import ValidationError

T = TypeVar("T")

BUILTIN_MODULES = [
    "trading.strategies.sma_cross",
    "trading.strategies.rsi_reversion",
    "trading.strategies.bollinger_scalp",
    "trading.strategies.grid",
]
# Other apps' bot definitions (module paths); add yours with a one-line edit.
PLUGIN_MODULES: list[str] = ["ttadak.definition"]

_registry: dict[str, type] = {}
_loaded = False


def strategy_register(cls: type[T]) -> type[T]:
    """Class decorator: register a strategy (or any bot definition with `name` and `params`)."""
    name = getattr(cls, "name", "")
    if not name or not hasattr(cls, "params"):
        raise TypeError(f"{cls.__name__} needs `name` and `params` to be registered")
    existing = _registry.get(name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"strategy name {name!r} is taken by {existing.__qualname__}")
    _registry[name] = cls
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for module in [*BUILTIN_MODULES, *PLUGIN_MODULES]:
        importlib.import_module(module)
    _loaded = True


def strategy_names() -> list[str]:
    _load()
    return sorted(_registry)


def strategy_get(name: str) -> type[Any]:
    """The registered class; ValidationError(field="strategy") naming the known ones otherwise."""
    _load()
    try:
        return _registry[name]
    except KeyError:
        raise ValidationError(
            f"unknown strategy {name!r}; known strategies: {', '.join(sorted(_registry))}", field="strategy"
        ) from None


def strategy_default_settings(name: str) -> dict[str, Any]:
    return strategy_get(name).params.defaults()


def strategy_settings_validate(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Coerce and check settings through the strategy's schema; returns the keys given, typed.

    Raises core.errors.ValidationError with `field` set and a message naming the field and the allowed
    range, e.g. "leverage must be a whole number between 1 and 125 (got 500)".
    """
    return strategy_get(name).params.validate(settings)


def strategy_settings_describe(name: str) -> list[dict[str, Any]]:
    """Field descriptions for settings editors (chat, API): name, type, default, min, max, choices, …"""
    return strategy_get(name).params.describe()


# The name the chat settings editor looks up.
strategy_params_describe = strategy_settings_describe
