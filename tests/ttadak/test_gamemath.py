"""The game's arithmetic, against figures computed by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ttadak import gamemath


def test_buy_game_exit_is_target_over_leverage_above_the_reference() -> None:
    # 10 % of margin at 20x is a 0.5 % move: 60 000 × 1.005 = 60 300.
    assert gamemath.exit_price(side="long", reference=D("60000"), target_yield_pct=D("10"), leverage=20) == D("60300")


def test_sell_game_exit_mirrors_the_buy_game() -> None:
    assert gamemath.exit_price(side="short", reference=D("60000"), target_yield_pct=D("10"), leverage=20) == D("59700")


def test_exit_rounds_to_the_tick_away_from_the_entry() -> None:
    # 60 000.03 × 1.005 = 60 300.03015 → sell exit rounds up to 60 300.1; buy-back exit rounds down.
    long_exit = gamemath.exit_price(side="long", reference=D("60000.03"), target_yield_pct=D("10"), leverage=20,
                                    tick=D("0.1"))
    short_exit = gamemath.exit_price(side="short", reference=D("60000.03"), target_yield_pct=D("10"), leverage=20,
                                     tick=D("0.1"))
    assert long_exit == D("60300.1")
    assert short_exit == D("59700.0")  # 59 700.02985 rounded down


def test_stop_loss_is_loss_over_leverage_from_the_entry_rounded_towards_it() -> None:
    assert gamemath.stop_loss_price(side="long", entry=D("60000"), stop_loss_pct=D("20"), leverage=20) == D("59400")
    assert gamemath.stop_loss_price(side="short", entry=D("60000"), stop_loss_pct=D("20"), leverage=20) == D("60600")
    # 50 000.05 × 0.99 = 49 500.0495 → up to 49 500.1 (triggers no later than the limit).
    assert gamemath.stop_loss_price(side="long", entry=D("50000.05"), stop_loss_pct=D("20"), leverage=20,
                                    tick=D("0.1")) == D("49500.1")


@pytest.mark.parametrize(("side", "price", "stop", "hit"), [
    ("long", D("59400"), D("59400"), True), ("long", D("59400.1"), D("59400"), False),
    ("short", D("60600"), D("60600"), True), ("short", D("60599.9"), D("60600"), False),
])
def test_stop_hit_at_or_past_the_level(side: str, price: D, stop: D, hit: bool) -> None:
    assert gamemath.stop_hit(side=side, price=price, stop=stop) is hit


def test_won_game_pnl_after_fees_by_hand() -> None:
    # 0.01 BTC long 60 000 → 60 300 at 20x: gross 3.00; taker 0.05 % on 600 = 0.30, maker 0.02 % on 603 = 0.1206.
    result = gamemath.game_result(side="long", amount=D("0.01"), entry=D("60000"), exit=D("60300"), leverage=20,
                                  entry_fee=D("0.30"), exit_fee=D("0.1206"))
    assert result.gross == D("3.00")
    assert result.fees == D("0.4206")
    assert result.pnl == D("2.5794")
    assert result.margin == D("30")
    assert result.yield_pct == D("8.598")  # 2.5794 / 30
    assert result.won


def test_short_game_loses_when_the_price_rises() -> None:
    fee = gamemath.fee(amount=D("0.01"), price=D("60600"), rate=D("0.0005"))
    assert fee == D("0.3030")
    result = gamemath.game_result(side="short", amount=D("0.01"), entry=D("60000"), exit=D("60600"), leverage=20,
                                  entry_fee=D("0.30"), exit_fee=fee)
    assert result.pnl == D("-6.6030")  # -6.00 gross, -0.603 fees
    assert not result.won


def test_amount_is_rounded_down_to_the_step() -> None:
    assert gamemath.amount_to_step(D("0.0019"), D("0.001")) == D("0.001")
    assert gamemath.amount_to_step(D("0.002"), D("0.001")) == D("0.002")


def test_break_even_move_at_vip0_is_seven_hundredths_of_a_percent() -> None:
    assert gamemath.break_even_move_pct(maker=D("0.0002"), taker=D("0.0005")) == D("0.0700")
    assert gamemath.break_even_move_pct(maker=D("0.0002"), taker=D("0.0005"), exit_is_maker=False) == D("0.1000")
