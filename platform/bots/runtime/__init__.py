"""Bot runtime: START/STOP services and the state machine of dry-run and live bots.

Call `bot_start(*, user, subscribed_bot_id)` and `bot_stop(*, user, subscribed_bot_id, close_position=None)`;
settings are edited with `bots.services.subscribed_bot_settings_update` and apply at the next tick.
"""

from bots.runtime.services import bot_start, bot_stop

__all__ = ["bot_start", "bot_stop"]
