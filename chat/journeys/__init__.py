"""User journeys, written once for every surface. Importing this package registers them all."""

from chat.journeys import (  # noqa: F401
    account,
    catalog,
    keys,
    menu,
    mybots,
    notifications,
    orders,
    reports,
    settings_editor,
    simulation,
    tokens,
)

# Journeys other parts of the platform add (registered with chat.registry), imported when they exist.
EXTENSIONS = ("ttadak.chat",)


def _load_extensions() -> None:
    from importlib import import_module

    from chat.optional import lookup

    for path in EXTENSIONS:
        if lookup(f"{path}:__name__") is not None:
            import_module(path)


_load_extensions()
