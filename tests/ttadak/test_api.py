"""/api/v1/ttadak against the exchange emulator: panel state, BUY / SELL presses with idempotency keys,
CLOSE NOW, the games and one game — and nobody else's bot or game.

Transactional: the press and the close run on this process's engine thread (ttadak.host), which has its
own database connection and must see committed rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from bots.models import BotKind, RunType
from tests.api.conftest import ApiClient, assert_error, client_for
from tests.factories import BotFactory, SubscribedBotFactory, UserFactory
from tests.ttadak.conftest import PRICE, Player, game_state, player_create
from ttadak import host
from ttadak.models import Game, GameState
from ttadak.services.activation import ttadak_stop

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_PATH = "/fapi/v1/order"


@pytest.fixture
def api_player(exchange_emulator, exchange_api_base, fast_watch) -> Iterator[tuple[Player, ApiClient]]:  # noqa: ANN001
    exchange_emulator.exchange.set_price("BTCUSDT", PRICE)
    player = player_create(exchange_emulator)
    try:
        yield player, client_for(player.user)
    finally:
        host.stop_thread_host()



def posted_orders(player: Player) -> list:
    return [r for r in player.emulator.exchange.requests(path=ORDER_PATH) if r.method == "POST"]


def position(player: Player) -> Decimal:
    info = player.emulator.exchange.accounts[player.account].positions.get("BTCUSDT")
    return info.amount if info else Decimal(0)


def open_orders(player: Player) -> list:
    return [o for o in player.emulator.exchange.orders_of(player.account) if o.status == "NEW"]


def press(api: ApiClient, bot_id: int, side: str, key: str, *, in_body: bool = False):
    url = f"/api/v1/ttadak/bots/{bot_id}/press"
    if in_body:
        return api.post(url, {"side": side, "idempotency_key": key})
    return api.client.post(url, data=f'{{"side": "{side}"}}', content_type="application/json",
                           headers={**api._headers(), "Idempotency-Key": key})


def test_the_panel_state_of_a_started_bot(api_player) -> None:  # noqa: ANN001
    player, api = api_player
    response = api.get(f"/api/v1/ttadak/bots/{player.bot.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "running" and body["run_type"] == RunType.LIVE
    assert body["symbol"] == "BTC/USDT:USDT" and body["settings"]["leverage"] == 20
    assert body["settings"]["order_amount"] == 0.002
    assert body["game_in_play"] is None and body["can_close_now"] is False
    assert body["run_id"] and body["since_start"]["games"] == 0 and body["all_time"]["games"] == 0


def test_a_press_plays_and_the_same_key_returns_the_same_game(api_player) -> None:  # noqa: ANN001
    player, api = api_player
    first = press(api, player.bot.pk, "BUY", "order-1")
    assert first.status_code == 201, first.content
    game = first.json()["game"]
    assert first.json()["duplicate"] is False and game["side"] == "BUY" and game["surface"] == "api"
    assert "sent" in first.json()["message"]
    again = press(api, player.bot.pk, "BUY", "order-1", in_body=True)  # header or body: the same key
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["game"]["id"] == game["id"]
    assert Game.objects.count() == 1 and len(posted_orders(player)) == 2
    opened = game_state(game["id"], GameState.OPEN)
    assert opened.idempotency_key == f"api:{player.user.pk}:{player.bot.pk}:order-1"

    panel = api.get(f"/api/v1/ttadak/bots/{player.bot.pk}").json()
    assert panel["game_in_play"]["id"] == game["id"] and panel["can_close_now"] is True
    assert panel["game_in_play"]["seconds_left"] <= 60
    # The same key for the other side is a client error, not a second game.
    assert_error(press(api, player.bot.pk, "SELL", "order-1"), 409, field="idempotency_key")
    assert Game.objects.count() == 1


def test_close_now_ends_the_game_at_market_with_reason_manual(api_player) -> None:  # noqa: ANN001
    player, api = api_player
    game_id = press(api, player.bot.pk, "SELL", "k-close").json()["game"]["id"]
    game_state(game_id, GameState.OPEN)
    assert position(player) == Decimal("-0.002")
    response = api.post(f"/api/v1/ttadak/games/{game_id}/close")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["game"]["state"] == "finished" and body["game"]["close_reason"] == "manual"
    assert "closed by you" in body["message"]
    legs = {leg["purpose"]: leg for leg in body["game"]["legs"]}
    assert legs["exit"]["status"] == "canceled"
    assert legs["close"]["side"] == "buy" and legs["close"]["reduce_only"] and legs["close"]["status"] == "closed"
    assert position(player) == 0 and not open_orders(player)
    assert body["game"]["pnl"] is not None and body["game"]["duration_seconds"] is not None

    error = assert_error(api.post(f"/api/v1/ttadak/games/{game_id}/close"), 409, code="conflict")
    assert "already ended" in error["message"]


def test_games_are_paginated_newest_first_and_one_game_shows_its_orders(api_player) -> None:  # noqa: ANN001
    player, api = api_player
    ids = []
    for n, side in enumerate(("BUY", "SELL")):
        game_id = press(api, player.bot.pk, side, f"page-{n}").json()["game"]["id"]
        game_state(game_id, GameState.OPEN)
        assert api.post(f"/api/v1/ttadak/games/{game_id}/close").status_code == 200
        ids.append(game_id)
    first = api.get(f"/api/v1/ttadak/bots/{player.bot.pk}/games", limit=1).json()
    assert first["count"] == 2 and [g["id"] for g in first["items"]] == [ids[1]]
    second = api.get(f"/api/v1/ttadak/bots/{player.bot.pk}/games", limit=1, offset=1).json()
    assert [g["id"] for g in second["items"]] == [ids[0]]
    assert "legs" not in first["items"][0] and "timings" not in first["items"][0]

    detail = api.get(f"/api/v1/ttadak/games/{ids[0]}").json()
    assert detail["side"] == "BUY" and detail["close_reason"] == "manual" and "timings" not in detail
    assert [leg["purpose"] for leg in detail["legs"]] == ["entry", "exit", "close"]
    assert Decimal(detail["fees"]) > 0 and Decimal(detail["pnl"]) == Decimal(detail["gross_pnl"]) - Decimal(
        detail["fees"])
    panel = api.get(f"/api/v1/ttadak/bots/{player.bot.pk}").json()
    assert panel["since_start"]["games"] == 2 and panel["all_time"]["games"] == 2
    assert Decimal(panel["all_time"]["pnl"]) == sum(Decimal(g.pnl) for g in Game.objects.all())
    assert_error(api.get(f"/api/v1/ttadak/bots/{player.bot.pk}/games", limit=0), 422, field="limit")


def test_someone_elses_bot_and_game_are_not_found_like_missing_ones(api_player) -> None:  # noqa: ANN001
    player, api = api_player
    game_id = press(api, player.bot.pk, "BUY", "mine").json()["game"]["id"]
    game_state(game_id, GameState.OPEN)
    mallory = client_for(UserFactory())
    for bot_id, game in ((player.bot.pk, game_id), (987654321, 987654321)):
        answers = [
            mallory.get(f"/api/v1/ttadak/bots/{bot_id}"),
            mallory.get(f"/api/v1/ttadak/bots/{bot_id}/games"),
            press(mallory, bot_id, "BUY", "x"),
            mallory.get(f"/api/v1/ttadak/games/{game}"),
            mallory.post(f"/api/v1/ttadak/games/{game}/close"),
        ]
        messages = [assert_error(answer, 404, code="not_found")["message"] for answer in answers]
        assert not any(str(player.user.pk) in message for message in messages)
    assert Game.objects.get(pk=game_id).state == GameState.OPEN and Game.objects.count() == 1


def test_bad_input_is_4xx_and_changes_nothing(api_player) -> None:  # noqa: ANN001
    player, api = api_player
    url = f"/api/v1/ttadak/bots/{player.bot.pk}/press"
    assert_error(api.post(url, {"side": "HOLD", "idempotency_key": "k1"}), 422, field="side")
    assert_error(api.post(url, {"side": "BUY"}), 422, field="idempotency_key")
    assert_error(api.post(url, {"side": "BUY", "idempotency_key": "bad key!"}), 422, field="idempotency_key")
    mismatch = api.client.post(url, data='{"side": "BUY", "idempotency_key": "a"}', content_type="application/json",
                               headers={**api._headers(), "Idempotency-Key": "b"})
    assert_error(mismatch, 422, field="idempotency_key")
    other_kind = SubscribedBotFactory(user=player.user, bot=BotFactory(kind=BotKind.AUTOMATED))
    assert_error(api.post(f"/api/v1/ttadak/bots/{other_kind.pk}/press", {"side": "BUY", "idempotency_key": "k"}),
                 404)
    assert not Game.objects.exists() and not posted_orders(player)


def test_a_press_on_a_stopped_bot_is_409_and_a_repeat_after_stop_still_finds_its_game(api_player) -> None:  # noqa: ANN001
    player, api = api_player
    game_id = press(api, player.bot.pk, "BUY", "before-stop").json()["game"]["id"]
    game_state(game_id, GameState.OPEN)
    ttadak_stop(user=player.user, subscribed_bot_id=player.bot.pk)
    again = press(api, player.bot.pk, "BUY", "before-stop")
    assert again.status_code == 200 and again.json()["game"]["id"] == game_id
    assert "not started" in assert_error(press(api, player.bot.pk, "BUY", "after-stop"), 409)["message"]
    # CLOSE NOW still ends the game after STOP.
    assert api.post(f"/api/v1/ttadak/games/{game_id}/close").json()["game"]["close_reason"] == "manual"
    assert position(player) == 0
