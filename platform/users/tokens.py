"""Generation and hashing of the secrets users hold: API tokens and one-time link codes.

Only hashes are stored. API tokens carry 256 bits, so plain SHA-256 is enough. Link codes are short
(typed by hand in a chat), so they are hashed with an HMAC keyed by SECRET_KEY: a leaked table alone
cannot be brute-forced back to live codes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

API_TOKEN_PREFIX = "ldp_"
API_TOKEN_DISPLAY_CHARS = 12  # ApiToken.prefix length: "ldp_" + 8 random characters

# No 0/O, 1/I/L: the code is read on one screen and typed on another.
LINK_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LINK_CODE_LENGTH = 8


def api_token_generate() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def api_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def link_code_generate() -> str:
    raw = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def link_code_normalize(code: str) -> str:
    """Accept the code as people type it: any case, with or without the dash or spaces."""
    return "".join(ch for ch in str(code).upper() if ch.isascii() and ch.isalnum())


def link_code_hash(code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, b"link-code:" + link_code_normalize(code).encode(), hashlib.sha256).hexdigest()
