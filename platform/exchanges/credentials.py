"""Decrypted exchange credentials: in memory only, for the moment of a call. The repr hides them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from core.crypto import mask_secret


@dataclass(frozen=True, repr=False)
class Credentials:
    exchange: str
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    exchange_setting_id: int | None = None
    key_version: int = 1

    def __repr__(self) -> str:
        return (f"Credentials(exchange={self.exchange!r}, api_key={mask_secret(self.api_key)!r}, "
                f"api_secret='***', exchange_setting_id={self.exchange_setting_id!r})")

    __str__ = __repr__

    @property
    def fingerprint(self) -> str:
        """Identifies the key pair without revealing it (pool keys, logs)."""
        return hashlib.sha256(f"{self.api_key}:{self.api_secret}".encode()).hexdigest()[:16]
