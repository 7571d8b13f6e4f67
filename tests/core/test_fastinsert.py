"""`core.fastinsert` writes the rows the ORM writes (defaults, decimals, JSON, datetimes, foreign keys)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from bots.models import Order
from core.fastinsert import insert_returning_pk
from tests.factories import BotRunFactory, GameFactory, OrderFactory
from ttadak.models import Game

pytestmark = pytest.mark.django_db

VOLATILE = ("id", "client_order_id", "idempotency_key", "created_at", "updated_at")


def _row(obj: object) -> dict:
    fresh = type(obj).objects.get(pk=obj.pk)  # type: ignore[attr-defined]
    return {k: v for k, v in model_to_dict(fresh).items() if k not in VOLATILE}


def test_orders_and_a_game_inserted_fast_equal_the_orm_rows() -> None:
    run = BotRunFactory()
    template = OrderFactory.build(run=run, subscribed_bot=run.subscribed_bot, price=Decimal("60000.10"),
                                  amount=Decimal("0.002"), purpose="entry")
    fields = {f.attname: getattr(template, f.attname) for f in Order._meta.concrete_fields if f.attname != "id"}
    orm = Order(**{**fields, "client_order_id": "orm-1"})
    orm.save()
    fast = [Order(**{**fields, "client_order_id": f"fast-{n}"}) for n in (1, 2)]
    insert_returning_pk(fast)
    assert all(o.pk and not o._state.adding for o in fast) and len({o.pk for o in fast}) == 2
    assert _row(fast[0]) == _row(fast[1]) == _row(orm)
    assert Order.objects.get(pk=fast[1].pk).client_order_id == "fast-2"  # keys come back in row order

    game_template = GameFactory.build(run=run, subscribed_bot=run.subscribed_bot, entry_order=fast[0],
                                      exit_order=fast[1], settings={"leverage": 20, "fee": "0.05"})
    game_fields = {f.attname: getattr(game_template, f.attname) for f in Game._meta.concrete_fields
                   if f.attname != "id"}
    orm_game = Game(**{**game_fields, "idempotency_key": "orm"})
    orm_game.save()
    Game.objects.filter(pk=orm_game.pk).update(entry_order=None, exit_order=None)  # unique legs
    fast_game = Game(**{**game_fields, "idempotency_key": "fast"})
    insert_returning_pk([fast_game])
    expected = {**_row(orm_game), "entry_order": fast[0].pk, "exit_order": fast[1].pk}
    assert _row(fast_game) == expected and Game.objects.get(pk=fast_game.pk).settings["fee"] == "0.05"


def test_a_constraint_violation_raises_integrity_error_and_writes_nothing() -> None:
    existing = OrderFactory()
    fields = {f.attname: getattr(existing, f.attname) for f in Order._meta.concrete_fields if f.attname != "id"}
    before = Order.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_returning_pk([Order(**{**fields, "client_order_id": "new-one"}), Order(**fields)])
    assert Order.objects.count() == before


def test_only_new_objects_of_one_model_are_accepted() -> None:
    existing = OrderFactory()
    with pytest.raises(ValueError):
        insert_returning_pk([existing])

