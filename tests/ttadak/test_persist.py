"""The press's one transaction writes the legs exactly as the order layer would, and is idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from bots.models import BotState, Order, RunStatus, RunType
from core.errors import Conflict, NotFound
from tests.factories import BotRunFactory, ChatIdentityFactory, SubscribedBotFactory, UserFactory
from trading.orders.placement import OrderIntent, order_prepare_many
from ttadak.models import Game
from ttadak.services.games import (
    GamePlan,
    PressScope,
    PressTarget,
    SessionStale,
    game_press_persist,
    game_press_prepare,
)

pytestmark = pytest.mark.django_db

ENTRY = OrderIntent(symbol="BTC/USDT:USDT", side="buy", amount=D("0.002"), purpose="entry")
EXIT = OrderIntent(symbol="BTC/USDT:USDT", side="sell", amount=D("0.002"), type="limit", price=D("60300.0"),
                   purpose="exit")
PLAN = GamePlan(side="long", symbol="BTC/USDT:USDT", amount=D("0.002"), leverage=20, reference_price=D("60000"),
                exit_price=D("60300.0"), max_duration=timedelta(minutes=1), settings={}, entry=ENTRY, exit=EXIT)
TARGET = PressTarget(surface="telegram", external_user_id="1", chat_id="1", message_id="5")


@pytest.fixture(params=[RunType.DRY_RUN, RunType.LIVE])
def scope(request) -> PressScope:  # noqa: ANN001
    from exchanges.models import ExchangeSetting

    bot = SubscribedBotFactory(state=BotState.RUNNING, run_type=request.param)
    if request.param == RunType.LIVE:
        bot.exchange_setting = ExchangeSetting.objects.create(user=bot.user, name="k", exchange="binanceusdm",
                                                              api_key_encrypted="x", api_secret_encrypted="y",
                                                              api_key_hint="ab…cd")
        bot.save()
    run = BotRunFactory(subscribed_bot=bot, run_type=request.param, status=RunStatus.RUNNING)
    ChatIdentityFactory(user=bot.user, surface="telegram", external_user_id="1", chat_id="1")
    bot.refresh_from_db()
    return PressScope(subscribed_bot_id=bot.pk, user_id=bot.user_id, run_id=run.pk, run_type=request.param,
                      exchange="binanceusdm", exchange_setting_id=bot.exchange_setting_id, version=bot.updated_at)


def persist(*, scope: PressScope, idempotency_key: str, target: PressTarget = TARGET) -> tuple[Game, bool]:
    return game_press_persist(game_press_prepare(scope=scope, plan=PLAN, idempotency_key=idempotency_key),
                              target=target, pressed_at=timezone.now())


def test_the_legs_are_the_rows_the_order_layer_writes(scope: PressScope) -> None:
    game, created = persist(scope=scope, idempotency_key="k1")
    layer = order_prepare_many(run_id=scope.run_id, exchange="binanceusdm",
                               intents=[(ENTRY, "k1:entry-layer"), (EXIT, "k1:exit-layer")])
    skip = {"id", "client_order_id", "idempotency_key"}
    for ours, theirs in zip([game.entry_order, game.exit_order], [row for row, _ in layer], strict=True):
        ours, theirs = Order.objects.get(pk=ours.pk), Order.objects.get(pk=theirs.pk)
        assert {k: v for k, v in model_to_dict(ours).items() if k not in skip} == \
               {k: v for k, v in model_to_dict(theirs).items() if k not in skip}
        assert ours.status == "submitting" and ours.client_order_id.startswith("ldp")
    # …and the order layer finds our rows by the same keys (the client order id derivation is shared).
    [(again, was_created)] = order_prepare_many(run_id=scope.run_id, exchange="binanceusdm",
                                                intents=[(ENTRY, "k1:entry")])
    assert again.pk == game.entry_order_id and not was_created


def test_the_same_key_twice_returns_the_first_game(scope: PressScope) -> None:
    first, created = persist(scope=scope, idempotency_key="k2")
    again, created_again = persist(scope=scope, idempotency_key="k2")
    assert created and not created_again and again.pk == first.pk
    assert Order.objects.count() == 2 and Game.objects.count() == 1


def test_refusals_leave_nothing_behind(scope: PressScope) -> None:
    from dataclasses import replace

    persist(scope=scope, idempotency_key="k3")
    with pytest.raises(Conflict, match="still in play"):
        persist(scope=scope, idempotency_key="k4")
    with pytest.raises(NotFound):
        persist(scope=replace(scope, user_id=scope.user_id + 1000), idempotency_key="k5")
    with pytest.raises(SessionStale):
        persist(scope=replace(scope, version=scope.version - timedelta(seconds=1)),
                           idempotency_key="k6")
    assert Order.objects.count() == 2 and Game.objects.count() == 1


def test_the_pressing_chat_identity_and_account_are_checked_in_the_same_statement(scope: PressScope) -> None:
    from core.errors import PermissionDenied
    from users.models import ChatIdentity, User

    stranger = PressTarget(surface="telegram", external_user_id="2", chat_id="2")
    with pytest.raises(NotFound):  # a person whose chat identity is not the bot owner's
        persist(scope=scope, idempotency_key="k7", target=stranger)
    ChatIdentity.objects.filter(external_user_id="1").update(user=UserFactory())  # re-linked elsewhere
    with pytest.raises(NotFound):
        persist(scope=scope, idempotency_key="k8")
    ChatIdentity.objects.filter(external_user_id="1").update(user_id=scope.user_id)
    User.objects.filter(pk=scope.user_id).update(status="blocked")
    with pytest.raises(PermissionDenied):
        persist(scope=scope, idempotency_key="k9")
    assert not Order.objects.exists()


def test_rows_prepared_ahead_carry_the_press_time_and_who_pressed(scope: PressScope, monkeypatch) -> None:
    drawn = timezone.now() - timedelta(seconds=5)
    with monkeypatch.context() as clock:
        clock.setattr(timezone, "now", lambda: drawn)
        prepared = game_press_prepare(scope=scope, plan=PLAN, idempotency_key="k10")  # when the panel was drawn
    pressed_at = timezone.now()  # …and the tap, 5 s later
    target = PressTarget(surface="telegram", external_user_id="1", chat_id="1", message_id="77")
    game, created = game_press_persist(prepared, target=target, pressed_at=pressed_at)
    saved = Game.objects.select_related("entry_order", "exit_order").get(pk=game.pk)
    assert created and saved.pressed_at == pressed_at and saved.deadline_at == pressed_at + timedelta(minutes=1)
    assert (saved.surface, saved.external_user_id, saved.chat_id, saved.message_id) == ("telegram", "1", "1", "77")
    assert [saved.entry_order, saved.exit_order] == prepared.legs and game.entry_order is prepared.legs[0]
    for row in (saved, saved.entry_order, saved.exit_order):  # stamped at the commit, not when prepared
        assert row.created_at >= pressed_at and row.updated_at >= pressed_at


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scope", [RunType.LIVE], indirect=True)
def test_outside_any_transaction_the_press_commits_on_its_own(scope: PressScope) -> None:
    """The press's own transaction on the driver's connection (not a savepoint of a test's): it commits,
    its refusals roll back, and the connection is left as Django expects it."""
    from django.db import connection

    game, created = persist(scope=scope, idempotency_key="t1")
    assert created and not connection.in_atomic_block and connection.get_autocommit()
    again, created_again = persist(scope=scope, idempotency_key="t1")
    assert not created_again and again.pk == game.pk
    with pytest.raises(Conflict, match="still in play"):
        persist(scope=scope, idempotency_key="t2")  # its legs went in, then the game was refused: rolled back
    assert Order.objects.count() == 2 and Game.objects.count() == 1
    assert Order.objects.filter(pk__in=[game.entry_order_id, game.exit_order_id]).count() == 2
