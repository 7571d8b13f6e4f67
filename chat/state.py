"""Conversation state in Redis: the multi-step input in progress per chat identity, and tap de-duplication.

Everything here expires on its own; losing Redis loses only half-typed input, never account data.
Secret field values are Fernet-encrypted (core.crypto) before they are stored, and only until the form
is submitted.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

from core.embedded_redis import redis_py_url

# Tests give each run its own prefix: several test runs share one Redis.
KEY_PREFIX = "ldp:chat:"
FORM_TTL_SECONDS = 15 * 60
# After a secret was asked for, a late message is still deleted for this long, even once the step expired.
SECRET_GUARD_TTL_SECONDS = 24 * 3600


@lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_py_url(url), decode_responses=True, socket_timeout=5)


def client() -> redis.Redis:
    return _client_for(settings.REDIS_URL)


def _form_key(identity_key: str) -> str:
    return f"{KEY_PREFIX}form:{identity_key}"


def _guard_key(identity_key: str) -> str:
    return f"{KEY_PREFIX}secret-guard:{identity_key}"


def form_state_get(identity_key: str) -> dict[str, Any] | None:
    raw = client().get(_form_key(identity_key))
    if raw is None:
        return None
    try:
        state = json.loads(raw)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def form_state_set(identity_key: str, state: dict[str, Any], *, ttl: int = FORM_TTL_SECONDS) -> None:
    client().set(_form_key(identity_key), json.dumps(state), ex=ttl)


def form_state_clear(identity_key: str) -> bool:
    return bool(client().delete(_form_key(identity_key)))


def secret_guard_set(identity_key: str) -> None:
    client().set(_guard_key(identity_key), "1", ex=SECRET_GUARD_TTL_SECONDS)


def secret_guard_active(identity_key: str) -> bool:
    return bool(client().exists(_guard_key(identity_key)))


def secret_guard_clear(identity_key: str) -> None:
    client().delete(_guard_key(identity_key))


def tap_first(owner_id: int, signature: str, *, ttl: int) -> bool:
    """True the first time this exact button is pressed within `ttl` seconds; False on a repeat."""
    return bool(client().set(f"{KEY_PREFIX}tap:{owner_id}:{signature}", "1", nx=True, ex=max(ttl, 1)))


def tap_forget(owner_id: int, signature: str) -> None:
    """The action was refused: let the same button be pressed again."""
    client().delete(f"{KEY_PREFIX}tap:{owner_id}:{signature}")
