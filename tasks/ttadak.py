"""Ttadak tasks: the sweep of games nobody watches (a chat process restarted), see ttadak.sweep."""

from __future__ import annotations

from tasks.app import app


@app.task(name="tasks.ttadak.games_sweep", ignore_result=True)
def games_sweep() -> dict[str, int]:
    from ttadak.sweep import ttadak_games_sweep

    return ttadak_games_sweep()
