from __future__ import annotations

import os


def setup_django() -> None:
    """Configure Django for a CLI command (idempotent)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def ensure_broker() -> bool:
    """In embedded mode (no REDIS_URL), start the private Redis before anything connects to it.

    Returns True when this call started it.
    """
    if os.environ.get("REDIS_URL", "").strip():
        return False
    from core.embedded_redis import embedded_redis_is_running, ensure_embedded_redis

    if embedded_redis_is_running():
        return False
    ensure_embedded_redis()
    return True
