"""The Celery sweep of games nobody is watching (a chat process restarted or died).

Every 15 seconds (beat) it takes, in a bounded batch:
- games still `sending` a minute after the press (the process died between sending and settling),
- games in play whose watch lease (`monitored_until`) ran out, and games past their deadline,
- games stuck `closing`, and games in `attention` (retried until resolved, at most MAX_ATTEMPTS closes),
and looks at each once (ttadak.engine.GameEngine.check_once): settle it, end it at its deadline or
stop, finish it when its exit filled. A chat process that comes back resumes watching its games.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from django.db.models import Q
from django.utils import timezone

from ttadak.models import Game, GameState

logger = logging.getLogger(__name__)

STALE_SENDING = timedelta(seconds=60)
STALE_CLOSING = timedelta(seconds=60)
DEADLINE_GRACE = timedelta(seconds=10)
ATTENTION_RETRY = timedelta(seconds=60)
MAX_ATTEMPTS = 10


def games_due_for_sweep(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    now = now or timezone.now()
    due = (
        Q(state=GameState.SENDING, created_at__lt=now - STALE_SENDING)
        | Q(state=GameState.OPEN, monitored_until__isnull=True)
        | Q(state=GameState.OPEN, monitored_until__lt=now)
        | Q(state=GameState.OPEN, deadline_at__lt=now - DEADLINE_GRACE)
        | Q(state=GameState.CLOSING, updated_at__lt=now - STALE_CLOSING)
        | Q(state=GameState.ATTENTION, updated_at__lt=now - ATTENTION_RETRY, close_attempts__lt=MAX_ATTEMPTS)
    )
    return list(Game.objects.filter(due).order_by("deadline_at").values_list("pk", flat=True)[:limit])


def ttadak_games_sweep(*, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Look once at every due game (see module doc). Returns counts per outcome."""
    ids = games_due_for_sweep(now=now, limit=limit)
    if not ids:
        return {}

    async def run() -> dict[str, int]:
        from ttadak.engine import GameEngine

        engine = GameEngine(watch=False)
        outcomes: dict[str, int] = {}
        try:
            for game_id in ids:
                try:
                    outcome = await engine.check_once(game_id)
                except Exception:
                    logger.exception("sweeping game %s failed; next sweep retries", game_id)
                    outcome = "failed"
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        finally:
            await engine.close()
        return outcomes

    return async_to_sync(run)()
