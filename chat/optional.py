"""Services other parts of the platform provide, looked up when called.

Some journeys (start/stop, reports) call services that land in their own time. Until a function exists
the screen says the feature is not available on this server — nothing else breaks, and no business rule
is re-implemented here in the meantime.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from core.errors import ApplicationError


class FeatureUnavailable(ApplicationError):
    status_code = 501
    code = "unavailable"


def lookup(path: str) -> Callable[..., Any] | None:
    """`"bots.runtime:bot_start"` → the function, or None when the module or name does not exist (yet)."""
    module_name, _, name = path.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as error:
        # Only a missing module of our own path counts as "not there yet"; a broken import elsewhere raises.
        if error.name and module_name.startswith(error.name):
            return None
        raise
    return getattr(module, name, None)


def call(path: str, what: str, /, **kwargs: Any) -> Any:
    function = lookup(path)
    if function is None:
        raise FeatureUnavailable(f"{what} is not available on this server yet.")
    return function(**kwargs)
