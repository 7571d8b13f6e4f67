"""Encryption at rest for secrets (exchange keys). Fernet with a key list for rotation.

The first key in settings.FIELD_ENCRYPTION_KEYS encrypts; every key decrypts, so old rows keep
working while `manage.py rotate_encryption_keys` re-encrypts them with the newest key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    pass


def _fernet_from_setting(raw: str) -> Fernet:
    # Accept a proper Fernet key, or any passphrase (derived to 32 bytes) so operators cannot
    # accidentally start with a malformed key.
    try:
        return Fernet(raw.encode())
    except ValueError:
        derived = base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest())
        return Fernet(derived)


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet_from_setting(key) for key in keys])


def _current() -> MultiFernet:
    return _multi_fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_text(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from None


def rotate_token(token: str) -> str:
    """Re-encrypt a token with the newest key (decrypting with any configured key)."""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from None


def mask_secret(value: str) -> str:
    """`abcd…wxyz` for display; short values reveal nothing."""
    if len(value) < 12:
        return "…"
    return f"{value[:4]}…{value[-4:]}"
