"""Which account a chat person acts for, remembered in this process for the press's fast path.

Drawing a game panel (or a press through the full chat stack) remembers (surface, team, person) →
account. A press that finds its person here skips the chat session lookup: the button's signature is
verified against the remembered account, and the press's transaction checks again — in the same
statement as the bot's state — that this chat identity still belongs to that account and that the
account is active. A stale entry can therefore only make a press fall back to the full path, never
act for the wrong account.
"""

from __future__ import annotations

import threading
import time

TTL_SECONDS = 3600.0

_lock = threading.Lock()
_known: dict[tuple[str, str, str], tuple[int, float]] = {}


def remember(*, surface: str, team_id: str, external_user_id: str, user_id: int) -> None:
    with _lock:
        _known[(surface, team_id or "", str(external_user_id))] = (user_id, time.monotonic() + TTL_SECONDS)


def recall(*, surface: str, team_id: str, external_user_id: str) -> int | None:
    key = (surface, team_id or "", str(external_user_id))
    with _lock:
        entry = _known.get(key)
        if entry is None:
            return None
        if entry[1] < time.monotonic():
            del _known[key]
            return None
        return entry[0]


def forget(*, surface: str, team_id: str, external_user_id: str) -> None:
    with _lock:
        _known.pop((surface, team_id or "", str(external_user_id)), None)
