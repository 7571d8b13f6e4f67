"""Fast lanes: features that must act on an update before aiogram has parsed and dispatched it.

aiogram's long polling turns each `getUpdates` answer into pydantic models (~0.6 ms for a batch here),
then starts a task per update and sends the next `getUpdates` *before* those tasks run (another
~0.5 ms). For almost every update that is fine. A Ttadak BUY GAME / SELL GAME press is a trading
order waiting on it, so a feature may register a *lane*: a function that sees the raw updates of each
batch first and starts its own work for the ones it claims. `LaneSession` (the Bot's session) runs the
lanes on the raw JSON, waits (bounded) for what they started, and only then hands the batch to aiogram
as usual — every update, claimed or not, is still dispatched, so the offset bookkeeping is untouched.
A lane's feature tells its own handlers to skip what the lane already did (`claimed`).

In webhook mode the lanes are not used: each update arrives in its own request, already without the
polling round trip.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientError

logger = logging.getLogger(__name__)

Lane = Callable[[Bot, list[dict[str, Any]], int], list[asyncio.Task]]
LANE_WAIT_SECONDS = 1.0  # the next getUpdates waits at most this long for a lane's work
MARKER = '"callback_query"'  # lanes only claim button presses: other batches skip the JSON parse

_lanes: list[Lane] = []


def register(lane: Lane) -> None:
    """`lane(bot, raw_updates, received_ns)` → the tasks it started for the updates it claimed."""
    if lane not in _lanes:
        _lanes.append(lane)


def unregister(lane: Lane) -> None:
    if lane in _lanes:
        _lanes.remove(lane)


def run_lanes(bot: Bot, raw_updates: list[dict[str, Any]], received_ns: int) -> list[asyncio.Task]:
    started: list[asyncio.Task] = []
    for lane in list(_lanes):
        try:
            started += lane(bot, raw_updates, received_ns)
        except Exception:
            logger.exception("a Telegram fast lane failed; its updates take the normal path")
    return started


class LaneSession(AiohttpSession):
    """aiogram's aiohttp session; a `getUpdates` answer holding a button press goes through the lanes
    before aiogram parses it."""

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
                           ) -> TelegramType:
        if not isinstance(method, GetUpdates) or not _lanes:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        form = self.build_form_data(bot=bot, method=method)
        try:
            async with session.post(url, data=form, timeout=self.timeout if timeout is None else timeout) as resp:
                raw_result = await resp.text()
        except TimeoutError as error:
            raise TelegramNetworkError(method=method, message="Request timeout error") from error
        except ClientError as error:
            raise TelegramNetworkError(method=method, message=f"{type(error).__name__}: {error}") from error
        received_ns = time.perf_counter_ns()
        if resp.status == 200 and MARKER in raw_result:
            started = run_lanes(bot, self._raw_updates(raw_result), received_ns)
            if started:
                await asyncio.wait(started, timeout=LANE_WAIT_SECONDS)
        response = self.check_response(bot=bot, method=method, status_code=resp.status, content=raw_result)
        return response.result  # type: ignore[return-value]

    def _raw_updates(self, raw_result: str) -> list[dict[str, Any]]:
        try:
            decoded = self.json_loads(raw_result)
        except ValueError:
            return []
        result = decoded.get("result") if isinstance(decoded, dict) and decoded.get("ok") else None
        return [update for update in result if isinstance(update, dict)] if isinstance(result, list) else []
