"""Compact, signed action payloads carried by buttons.

`code|arg|arg|<issued-at base36><nonce>|<signature>` — at most 62 bytes, so it fits Telegram's 64-byte
callback data with the adapter's 2-byte prefix. The signature is an HMAC over the body and the id of the
account the screen was drawn for, so a forged or edited payload, or a button pressed by someone else (a
Slack channel), fails verification. Ownership of the objects named in the args is still checked by the
selectors; the signature is a second fence, not the only one.

The process remembers the payloads it signed lately (`RECENT_SIGNED`): a press of a button it drew
itself is recognised by looking it up, without computing the HMAC again (a Ttadak press waits on it).
Only a payload signed here for that very account is found, so the lookup accepts exactly what the
signature check would.
"""

from __future__ import annotations

import base64
import secrets
import string
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.crypto import constant_time_compare, salted_hmac

MAX_PAYLOAD_BYTES = 62
SEPARATOR = "|"
_NONCE_ALPHABET = string.digits + string.ascii_lowercase
NONCE_LENGTH = 3
SIGNATURE_LENGTH = 8  # 48 bits of HMAC-SHA256: online guessing only, and every miss is answered slowly by hand
RECENT_SIGNED = 4096  # payloads signed by this process that are remembered (a few screens of every active chat)


class PayloadError(Exception):
    """The payload is malformed or its signature does not verify. Never shown verbatim."""


@dataclass(frozen=True)
class Payload:
    code: str
    args: tuple[str, ...]
    issued_at: datetime
    nonce: str


_recent: dict[tuple[str, int], Payload] = {}  # (payload, owner) -> its parts; oldest first
_recent_lock = threading.Lock()


def new_nonce() -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(NONCE_LENGTH))


def _to_base36(number: int) -> str:
    digits = ""
    while True:
        number, remainder = divmod(number, 36)
        digits = _NONCE_ALPHABET[remainder] + digits
        if number == 0:
            return digits


def _signature(body: str, owner_id: int) -> str:
    digest = salted_hmac("chat.payload", f"{owner_id}{SEPARATOR}{body}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:6]).decode()


def encode(code: str, args: tuple[object, ...], *, owner_id: int, issued_at: datetime, nonce: str) -> str:
    """Sign an action for the account `owner_id` (0 before sign-up). Raises ValueError on a programming
    error (separator inside an arg, payload too long) — never at the user's tap."""
    parts = [code, *(str(arg) for arg in args)]
    for part in parts:
        if SEPARATOR in part or not part.isascii():
            raise ValueError(f"payload part {part!r} must be ASCII without {SEPARATOR!r}")
    stamp = _to_base36(int(issued_at.timestamp())) + nonce
    body = SEPARATOR.join([*parts, stamp])
    payload = f"{body}{SEPARATOR}{_signature(body, owner_id)}"
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload {payload!r} is longer than {MAX_PAYLOAD_BYTES} bytes")
    parsed = _parse(body)
    with _recent_lock:
        _recent[(payload, owner_id)] = parsed
        while len(_recent) > RECENT_SIGNED:
            del _recent[next(iter(_recent))]
    return payload


def decode(payload: object, *, owner_id: int) -> Payload:
    """Verify and split a payload pressed by the account `owner_id`. Raises PayloadError."""
    if not isinstance(payload, str) or not payload or len(payload) > 4 * MAX_PAYLOAD_BYTES:
        raise PayloadError("malformed")
    signed_here = _recent.get((payload, owner_id))
    if signed_here is not None:
        return signed_here
    body, _, signature = payload.rpartition(SEPARATOR)
    if not body or len(signature) != SIGNATURE_LENGTH:
        raise PayloadError("malformed")
    if not constant_time_compare(signature, _signature(body, owner_id)):
        raise PayloadError("bad signature")
    return _parse(body)


def _parse(body: str) -> Payload:
    *parts, stamp = body.split(SEPARATOR)
    if not parts or len(stamp) <= NONCE_LENGTH:
        raise PayloadError("malformed")
    try:
        issued_at = datetime.fromtimestamp(int(stamp[:-NONCE_LENGTH], 36), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise PayloadError("malformed") from None
    return Payload(code=parts[0], args=tuple(parts[1:]), issued_at=issued_at, nonce=stamp[-NONCE_LENGTH:])
