"""Live-run against the exchange emulator: START checks the key and takes the free balance, ticks place real
orders through the order layer, STOP closes the position at the exchange."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from bots.models import BotKind, BotRuntime, BotState, Order, OrderStatus, RunType, SubscribedBot, Trade
from bots.runtime import bot_start, bot_stop
from bots.runtime.services import bot_start_finish, bot_stop_finish
from core.crypto import encrypt_text, mask_secret
from exchanges.models import ExchangeSetting, KeyValidationStatus
from tests.factories import BotFactory, SubscribedBotFactory, UserFactory
from tests.trading.runtime.conftest import store_candles, tick

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_candles", "exchange_api_base")]

SETTINGS = {"symbol": "BTC/USDT", "timeframe": "1m", "fast": 5, "slow": 20, "allow_short": True,
            "max_drawdown_pct": 0, "leverage": 2, "capital": 1000}


def _live_bot(emulator, settings: dict = SETTINGS, balance: str = "5000") -> tuple[SubscribedBot, str]:  # noqa: ANN001
    key = emulator.exchange.create_key(balances={"USDT": balance})
    user = UserFactory(live_trading_confirmed_at=timezone.now())
    setting = ExchangeSetting.objects.create(
        user=user, name="main", exchange="binanceusdm", api_key_encrypted=encrypt_text(key.key),
        api_secret_encrypted=encrypt_text(key.secret), api_key_hint=mask_secret(key.key),
        validation_status=KeyValidationStatus.VALID, can_trade=True, can_trade_futures=True, can_withdraw=False,
    )
    bot = BotFactory(kind=BotKind.AUTOMATED, strategy="sma_cross", default_setting=settings)
    return SubscribedBotFactory(user=user, bot=bot, run_type=RunType.LIVE, exchange_setting=setting), key.account


def _tick_until_position(emulator, candles, subscribed: SubscribedBot, start: int = 63) -> int:  # noqa: ANN001
    index = start
    while not BotRuntime.objects.get(subscribed_bot=subscribed).position_side:
        emulator.control.set_price("BTCUSDT", str(candles.close[index]))
        tick(int(candles.ts[index]), [subscribed.pk])
        index += 1
        assert index < len(candles) - 1, "the strategy should have entered"
    return index


def test_live_bot_starts_with_its_capital_trades_at_the_exchange_and_stop_closes_the_position(
    exchange_emulator,  # noqa: ANN001
) -> None:
    candles = store_candles(count=200)
    subscribed, account = _live_bot(exchange_emulator)
    bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    bot_start_finish(subscribed_bot_id=subscribed.pk)
    subscribed.refresh_from_db()
    assert subscribed.state == BotState.RUNNING, subscribed.state_reason
    runtime = BotRuntime.objects.get(subscribed_bot=subscribed)
    assert runtime.starting_equity == runtime.balance == Decimal("1000")

    _tick_until_position(exchange_emulator, candles, subscribed)

    entry = Order.objects.get(subscribed_bot=subscribed, purpose__in=["enter_long", "enter_short"])
    assert entry.status == OrderStatus.CLOSED and entry.exchange_order_id and entry.run_type == RunType.LIVE
    at_exchange = exchange_emulator.control.orders(account=account)
    assert [o["clientOrderId"] for o in at_exchange] == [entry.client_order_id]
    runtime = BotRuntime.objects.get(subscribed_bot=subscribed)
    assert runtime.pending_actions == [] and runtime.position_amount == entry.filled
    # Two-times leverage on a 1,000 capital: about 2,000 of notional.
    assert 1900 < entry.filled * entry.average < 2000
    trade = Trade.objects.get(subscribed_bot=subscribed, is_open=True)
    assert trade.run_type == RunType.LIVE and entry.trade_id == trade.pk

    bot_stop(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    bot_stop_finish(subscribed_bot_id=subscribed.pk)
    subscribed.refresh_from_db()
    assert subscribed.state == BotState.STOPPED, subscribed.state_reason
    close = Order.objects.get(subscribed_bot=subscribed, purpose="stop")
    assert close.status == OrderStatus.CLOSED and close.reduce_only and close.filled == entry.filled
    assert not Trade.objects.filter(subscribed_bot=subscribed, is_open=True).exists()
    assert BotRuntime.objects.get(subscribed_bot=subscribed).position_side == ""


def test_live_start_fails_with_the_reason_when_the_capital_is_more_than_the_free_balance(exchange_emulator) -> None:  # noqa: ANN001
    subscribed, _ = _live_bot(exchange_emulator, balance="500")
    bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    bot_start_finish(subscribed_bot_id=subscribed.pk)
    subscribed.refresh_from_db()
    assert subscribed.state == BotState.ERROR
    assert "more than the free 500 USDT" in subscribed.state_reason


def test_a_live_tick_that_crashed_before_placing_its_orders_resumes_them_once(exchange_emulator) -> None:  # noqa: ANN001
    candles = store_candles(count=200)
    subscribed, account = _live_bot(exchange_emulator)
    bot_start(user=subscribed.user, subscribed_bot_id=subscribed.pk)
    bot_start_finish(subscribed_bot_id=subscribed.pk)

    from trading.runtime import live

    real = live.live_pending_execute
    live.live_pending_execute = lambda *args, **kwargs: None  # the worker died right after the tick committed
    try:
        index = 63
        while not BotRuntime.objects.get(subscribed_bot=subscribed).pending_actions:
            exchange_emulator.control.set_price("BTCUSDT", str(candles.close[index]))
            tick(int(candles.ts[index]), [subscribed.pk])
            index += 1
    finally:
        live.live_pending_execute = real
    assert exchange_emulator.control.orders(account=account) == []

    tick(int(candles.ts[index]), [subscribed.pk])  # the next tick places the decided order first
    tick(int(candles.ts[index]), [subscribed.pk])  # and a redelivery of it changes nothing
    assert len(exchange_emulator.control.orders(account=account)) == 1
    assert BotRuntime.objects.get(subscribed_bot=subscribed).pending_actions == []
    assert Order.objects.filter(subscribed_bot=subscribed).count() == 1
