"""The presses a panel on show can bring, so the engine can have their legs signed before the tap.

A BUY GAME / SELL GAME button is signed for its render, and a press's idempotency key is that signature
(`ttadak.chat.press_key`): the key — and from it both legs' client order ids — are known as soon as the
panel is drawn. The panel records them here (process memory, like `ttadak.identities`); the engine's
warm session signs both legs of both buttons at the live price (`LiveGateway.sign_ahead`) and again when
the price moves or the signatures age. A press of that button at that price then skips ccxt's signing;
any other press (another price, an older panel, the API) signs at the press as before.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

SHOWN_SECONDS = 300.0  # presses of a panel shown longer ago are not signed ahead (the session cools too)


@dataclass(frozen=True)
class ShownPanel:
    user_id: int
    keys: dict[str, str]  # side ("long" / "short") -> the idempotency key its button's press will carry
    shown_at: float  # monotonic

    @property
    def current(self) -> bool:
        return time.monotonic() - self.shown_at < SHOWN_SECONDS


_shown: dict[int, ShownPanel] = {}
_lock = threading.Lock()


def panel_shown(*, subscribed_bot_id: int, user_id: int, keys: dict[str, str]) -> None:
    """The latest panel of a bot (rendered on any thread of this process)."""
    with _lock:
        _shown[subscribed_bot_id] = ShownPanel(user_id=user_id, keys=dict(keys), shown_at=time.monotonic())


def shown_panel(subscribed_bot_id: int) -> ShownPanel | None:
    with _lock:
        panel = _shown.get(subscribed_bot_id)
        if panel is not None and not panel.current:
            del _shown[subscribed_bot_id]
            return None
        return panel
