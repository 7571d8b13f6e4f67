"""The press's persistence outside any transaction, as in production: on PostgreSQL that is the one-statement
path (check and three rows in one round trip). The same cases as test_persist, plus row equality with the
multi-statement path. (On SQLite these take the multi-statement path and must hold as well.)"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from bots.models import Order
from tests.ttadak import test_persist as base
from ttadak.models import Game, GameState
from ttadak.services.games import game_press_persist

pytestmark = pytest.mark.django_db(transaction=True)

scope = base.scope
test_the_legs_are_the_rows_the_order_layer_writes = base.test_the_legs_are_the_rows_the_order_layer_writes
test_the_same_key_twice_returns_the_first_game = base.test_the_same_key_twice_returns_the_first_game
test_refusals_leave_nothing_behind = base.test_refusals_leave_nothing_behind
test_the_pressing_chat_identity_and_account_are_checked_in_the_same_statement = \
    base.test_the_pressing_chat_identity_and_account_are_checked_in_the_same_statement


def test_one_statement_and_step_by_step_write_the_same_rows(scope, monkeypatch) -> None:  # noqa: ANN001
    from django.db import connection

    from ttadak.services import games

    one_statement = []
    original = games._press_in_one_statement
    monkeypatch.setattr(games, "_press_in_one_statement",
                        lambda **kwargs: one_statement.append(1) or original(**kwargs))
    pressed_at = timezone.now()
    fast, created = game_press_persist(scope=scope, idempotency_key="a1", plan=base.PLAN, target=base.TARGET,
                                       pressed_at=pressed_at)
    assert created and fast.pk and fast.entry_order.pk and fast.exit_order.pk
    Game.objects.filter(pk=fast.pk).update(state=GameState.FINISHED)  # one game in play at a time
    with transaction.atomic():  # inside a transaction: the step-by-step statements
        slow, created = game_press_persist(scope=scope, idempotency_key="a2", plan=base.PLAN, target=base.TARGET,
                                           pressed_at=pressed_at)
    assert created
    assert len(one_statement) == (1 if connection.vendor == "postgresql" else 0)
    volatile = {"id", "idempotency_key", "client_order_id", "entry_order", "exit_order", "state", "created_at",
                "updated_at"}

    def row(model: type, pk: int) -> dict:
        return {k: v for k, v in model_to_dict(model.objects.get(pk=pk)).items() if k not in volatile}

    assert row(Game, fast.pk) == row(Game, slow.pk)
    assert Game.objects.get(pk=fast.pk).entry_order_id == fast.entry_order.pk
    for ours, theirs in ((fast.entry_order, slow.entry_order), (fast.exit_order, slow.exit_order)):
        assert row(Order, ours.pk) == row(Order, theirs.pk)
