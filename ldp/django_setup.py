from __future__ import annotations

import os


def setup_django() -> None:
    """Configure Django for a CLI command (idempotent)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def ensure_broker() -> None:
    """In embedded mode (no REDIS_URL), start the private Redis before anything connects to it."""
    if not os.environ.get("REDIS_URL", "").strip():
        from core.embedded_redis import ensure_embedded_redis

        ensure_embedded_redis()
