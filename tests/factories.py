"""factory_boy factories shared by every test package (import from here, add yours here too)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from bots.models import Bot, BotKind, BotRun, Order, OrderSide, RunStatus, RunType, SubscribedBot, Trade
from funds.models import Fund, FundBot, FundStatus, FundSubscription
from users.models import ChatIdentity, ChatSurface, User, UserStatus

TEST_PASSWORD = "pw-for-tests-only"


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return make_password(TEST_PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    status = UserStatus.ACTIVE
    # Hashed once per test run: hashing per user (PBKDF2) would dominate the suite's time.
    password = factory.LazyFunction(lambda: _password_hash())


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True
    username = factory.Sequence(lambda n: f"staff{n}")


class ChatIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatIdentity

    user = factory.SubFactory(UserFactory)
    surface = ChatSurface.TELEGRAM
    external_user_id = factory.Sequence(lambda n: str(100000 + n))
    chat_id = factory.LazyAttribute(lambda o: o.external_user_id)
    username = factory.Sequence(lambda n: f"tg_user{n}")


class BotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bot

    name = factory.Sequence(lambda n: f"Bot {n}")
    slug = factory.Sequence(lambda n: f"bot-{n}")
    kind = BotKind.AUTOMATED
    strategy = "sma_cross"
    description = "A test bot."
    default_setting = factory.LazyFunction(lambda: {"symbol": "BTC/USDT", "timeframe": "1h", "fast": 10, "slow": 30})


class FundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fund

    name = factory.Sequence(lambda n: f"Fund {n}")
    slug = factory.Sequence(lambda n: f"fund-{n}")
    fee = Decimal("10.00")
    status = FundStatus.OPEN


class FundBotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FundBot

    fund = factory.SubFactory(FundFactory)
    bot = factory.SubFactory(BotFactory)
    weight = Decimal("0.5")


class FundSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FundSubscription

    user = factory.SubFactory(UserFactory)
    fund = factory.SubFactory(FundFactory)
    started_at = factory.LazyFunction(timezone.now)


class SubscribedBotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubscribedBot

    user = factory.SubFactory(UserFactory)
    bot = factory.SubFactory(BotFactory)
    subscription_start = factory.LazyFunction(timezone.now)


class BotRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BotRun

    subscribed_bot = factory.SubFactory(SubscribedBotFactory)
    run_type = RunType.SIMULATION
    status = RunStatus.FINISHED


class TradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trade

    run = factory.SubFactory(BotRunFactory)
    subscribed_bot = factory.LazyAttribute(lambda o: o.run.subscribed_bot)
    run_type = factory.LazyAttribute(lambda o: o.run.run_type)
    exchange = "binanceusdm"
    pair = "BTC/USDT"
    amount = Decimal("0.01")
    entry_price = Decimal("50000")
    opened_at = factory.LazyFunction(timezone.now)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    run = factory.SubFactory(BotRunFactory)
    subscribed_bot = factory.LazyAttribute(lambda o: o.run.subscribed_bot)
    run_type = factory.LazyAttribute(lambda o: o.run.run_type)
    exchange = "binanceusdm"
    client_order_id = factory.Sequence(lambda n: f"ldp-test-{n:08d}")
    symbol = "BTC/USDT"
    side = OrderSide.BUY
    amount = Decimal("0.01")


class GameFactory(factory.django.DjangoModelFactory):
    """A finished Ttadak game (ttadak.models.Game) on a dry-run."""

    class Meta:
        model = "ttadak.Game"

    run = factory.SubFactory(BotRunFactory, run_type=RunType.DRY_RUN)
    subscribed_bot = factory.LazyAttribute(lambda o: o.run.subscribed_bot)
    run_type = RunType.DRY_RUN
    idempotency_key = factory.Sequence(lambda n: f"test:game:{n}")
    side = "long"
    state = "finished"
    exchange = "binanceusdm"
    symbol = "BTC/USDT:USDT"
    leverage = 20
    amount = Decimal("0.002")
    reference_price = Decimal("60000")
    exit_limit_price = Decimal("60300")
    pressed_at = factory.LazyFunction(timezone.now)
    deadline_at = factory.LazyFunction(timezone.now)
