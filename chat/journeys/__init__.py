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

# Journeys other parts of the platform add (they register with chat.registry when imported).
EXTENSIONS = ("ttadak.chat",)


def _load_extensions() -> None:
    from importlib import import_module

    for path in EXTENSIONS:
        import_module(path)


_load_extensions()
