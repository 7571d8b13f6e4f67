"""Ttadak test setup: a user with a started Ttadak bot on the exchange emulator, and an engine runner.

Scenarios are async functions run under `async_to_sync`, so the ORM calls the engine makes through
`sync_to_async` stay on the test's thread and see the test's transaction.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from bots.models import BotKind, RunType, SubscribedBot
from core.crypto import encrypt_text, mask_secret
from emulators.exchange import EmulatorServer
from exchanges.models import ExchangeSetting, KeyValidationStatus
from tests.chat.conftest import chat_state  # noqa: F401  (fixture: a private Redis key prefix for chat state)
from tests.chat.slack.conftest import slack  # noqa: F401  (fixture: the Slack app against the local recorder)
from tests.factories import BotFactory, SubscribedBotFactory, UserFactory
from trading.gateways.pool import LiveGatewayPool
from ttadak import engine as engine_module
from ttadak.engine import GameEngine
from ttadak.models import Game
from ttadak.services.activation import ttadak_start
from ttadak.services.games import PressTarget
from users.models import ChatIdentity, User

SYMBOL = "BTC/USDT:USDT"
PRICE = Decimal("60000")


@dataclass
class Player:
    user: User
    bot: SubscribedBot
    api_key: str
    account: str
    emulator: EmulatorServer

    def target(self, message_id: str = "1") -> PressTarget:
        return PressTarget(surface="test", external_user_id=str(self.user.pk), chat_id="1", message_id=message_id)


def ttadak_bot_create(*, user: User, run_type: str = RunType.LIVE, setting: ExchangeSetting | None = None,
                      **overrides: Any) -> SubscribedBot:
    bot = BotFactory(kind=BotKind.MANUAL, strategy="ttadak", name="Ttadak",
                     default_setting={"symbol": SYMBOL, "leverage": 20})
    settings = {"order_amount": 0.002, "target_yield_pct": 10, "stop_loss_pct": 20, "max_duration_s": 60,
                **overrides}
    return SubscribedBotFactory(user=user, bot=bot, run_type=run_type, exchange_setting=setting,
                                user_bot_setting=settings)


def player_create(emulator: EmulatorServer, *, balance: str = "10000", run_type: str = RunType.LIVE,
                  start: bool = True, **overrides: Any) -> Player:
    key = emulator.exchange.create_key(balances={"USDT": balance})
    user = UserFactory(live_trading_confirmed_at=timezone.now())
    setting = ExchangeSetting.objects.create(
        user=user, name="main", exchange="binanceusdm", api_key_encrypted=encrypt_text(key.key),
        api_secret_encrypted=encrypt_text(key.secret), api_key_hint=mask_secret(key.key),
        validation_status=KeyValidationStatus.VALID, can_trade=True, can_trade_futures=True, can_withdraw=False,
    )
    subscribed_bot = ttadak_bot_create(user=user, run_type=run_type, setting=setting, **overrides)
    if start:
        subscribed_bot = ttadak_start(user=user, subscribed_bot_id=subscribed_bot.pk)
    return Player(user=user, bot=subscribed_bot, api_key=key.key, account=key.account, emulator=emulator)


def game_state(game_id: int, *states: str, timeout: float = 10.0) -> Game:
    """The game once it is in one of `states` (other threads and processes move it on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        game = Game.objects.select_related("exit_order", "close_order").get(pk=game_id)
        if game.state in states:
            return game
        time.sleep(0.02)
    raise AssertionError(f"game {game_id} stayed {game.state}, expected {states}")


@pytest.fixture
def slack_player(slack, exchange_emulator, exchange_api_base, fast_watch) -> Iterator[Player]:  # noqa: ANN001, F811
    """A started player whose Slack identity is U1TT in the harness's team; the engine thread host stops after."""
    exchange_emulator.exchange.set_price("BTCUSDT", PRICE)
    player = player_create(exchange_emulator)
    ChatIdentity.objects.create(user=player.user, surface="slack", external_user_id="U1TT",
                                team_id=slack.recorder.team_id, chat_id="U1TT")
    try:
        yield player
    finally:
        from ttadak import host

        host.stop_thread_host()


@pytest.fixture
def fast_watch(monkeypatch) -> None:  # noqa: ANN001
    """Watch games with short polls so tests end quickly."""
    monkeypatch.setattr(engine_module, "PRICE_POLL_SECONDS", 0.02)
    monkeypatch.setattr(engine_module, "WATCH_POLL_SECONDS", 0.02)
    monkeypatch.setattr(engine_module, "EXIT_CHECK_SECONDS", 0.05)


@pytest.fixture
def player(exchange_emulator: EmulatorServer, exchange_api_base: str, db, fast_watch) -> Player:  # noqa: ANN001
    exchange_emulator.exchange.set_price("BTCUSDT", PRICE)
    return player_create(exchange_emulator)


Scenario = Callable[[GameEngine], Awaitable[Any]]


@pytest.fixture
def play() -> Callable[[Scenario], Any]:
    """`play(scenario)` runs `async def scenario(engine)` with a fresh engine and closes it after."""

    def run(scenario: Scenario) -> Any:
        async def main() -> Any:
            engine = GameEngine(pool=LiveGatewayPool(timeout_ms=2000))
            try:
                return await scenario(engine)
            finally:
                await engine.close()

        return async_to_sync(main)()

    return run
