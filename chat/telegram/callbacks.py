"""Callback data classes. `a:` carries the core's compact signed payload (chat.payloads), 62 bytes at most.

Other features with their own latency needs register their own short prefix here (e.g. `g:` for the
Ttadak game panel), so their buttons go straight to their router without the core's dispatch.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class Act(CallbackData, prefix="a", sep=":"):
    """A core action: the payload is verified (signature, owner, age) by chat.engine."""

    p: str
