"""User journeys, written once for every surface. Importing this package registers them all."""

from chat.journeys import (  # noqa: F401
    account,
    catalog,
    keys,
    menu,
    mybots,
    reports,
    settings_editor,
    simulation,
)
