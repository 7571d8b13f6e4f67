"""Demo data for a fresh install: catalog (bots of every kind, funds), synthetic candles, an admin.

Each app contributes one idempotent step; `ldp up` runs them on first start, `ldp demo` any time.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from importlib import import_module

from config.env import VAR_DIR

# "module:function" — each takes progress: bool and is idempotent.
DEMO_STEPS: list[str] = [
    "funds.demo:demo_catalog_load",
    "marketdata.demo:demo_candles_load",
]

ADMIN_USERNAME = "admin"
_ADMIN_PASSWORD_FILE = VAR_DIR / "admin-password.txt"


def _step(path: str) -> Callable[..., None]:
    module_name, function_name = path.split(":")
    return getattr(import_module(module_name), function_name)


def demo_load(*, progress: bool = False) -> None:
    for path in DEMO_STEPS:
        _step(path)(progress=progress)


def demo_catalog_is_loaded() -> bool:
    from bots.models import Bot

    return Bot.objects.exists()


def demo_admin_credentials_ensure() -> tuple[str, str]:
    """Create the demo superuser once with a random password kept in var/ (git-ignored, mode 600)."""
    from users.models import User, UserRole

    if _ADMIN_PASSWORD_FILE.exists() and User.objects.filter(username=ADMIN_USERNAME).exists():
        return ADMIN_USERNAME, _ADMIN_PASSWORD_FILE.read_text().strip()
    password = secrets.token_urlsafe(12)
    user, _ = User.objects.get_or_create(
        username=ADMIN_USERNAME, defaults={"email": "admin@localhost", "role": UserRole.OPERATOR}
    )
    user.is_staff = True
    user.is_superuser = True
    user.set_password(password)
    user.save()
    _ADMIN_PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
    _ADMIN_PASSWORD_FILE.write_text(password + "\n")
    _ADMIN_PASSWORD_FILE.chmod(0o600)
    return ADMIN_USERNAME, password
