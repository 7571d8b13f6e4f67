from __future__ import annotations

from dataclasses import dataclass

import pytest

from bots.models import BotRun, RunStatus, RunType
from core.crypto import encrypt_text, mask_secret
from emulators.exchange import EmulatorServer
from exchanges.models import ExchangeSetting, KeyValidationStatus
from tests.factories import BotRunFactory, SubscribedBotFactory, UserFactory


@dataclass
class LiveSetup:
    run: BotRun
    setting: ExchangeSetting
    api_key: str
    account: str
    emulator: EmulatorServer


def live_setup_create(emulator: EmulatorServer, *, balance: str = "10000") -> LiveSetup:
    key = emulator.exchange.create_key(balances={"USDT": balance})
    user = UserFactory()
    setting = ExchangeSetting.objects.create(
        user=user, name="main", exchange="binanceusdm", api_key_encrypted=encrypt_text(key.key),
        api_secret_encrypted=encrypt_text(key.secret), api_key_hint=mask_secret(key.key),
        validation_status=KeyValidationStatus.VALID, can_trade=True, can_trade_futures=True, can_withdraw=False,
    )
    subscribed_bot = SubscribedBotFactory(user=user, exchange_setting=setting, run_type=RunType.LIVE)
    run = BotRunFactory(subscribed_bot=subscribed_bot, run_type=RunType.LIVE, status=RunStatus.RUNNING)
    return LiveSetup(run=run, setting=setting, api_key=key.key, account=key.account, emulator=emulator)


@pytest.fixture
def live(exchange_emulator: EmulatorServer, exchange_api_base: str, db) -> LiveSetup:  # noqa: ANN001
    return live_setup_create(exchange_emulator)
