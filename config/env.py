"""Every environment variable the platform reads is read here, once.

Development defaults are safe and need no services; production (DEBUG off) refuses to start
without the secrets, naming the missing variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LDP_VAR_DIR", BASE_DIR / "var"))

# Development-only values. They are public (in git), so production must never use them.
DEV_SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production"
DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktMDE="  # base64 of 32 bytes

SECRETS_REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL")


class ConfigurationError(RuntimeError):
    pass


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Environment:
    debug: bool

    def require(self, name: str, dev_default: str) -> str:
        """A secret: from the environment, else the dev default — but never in production."""
        value = env_str(name)
        if value:
            return value
        if not self.debug:
            raise ConfigurationError(
                f"{name} is not set. It is required when DEBUG is off (production); "
                f"set it in the environment."
            )
        return dev_default


def embedded_redis_socket() -> Path:
    return VAR_DIR / "redis" / "redis.sock"


def embedded_redis_url() -> str:
    return f"redis+socket://{embedded_redis_socket()}"
