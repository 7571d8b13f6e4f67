"""The game's arithmetic, pure and in Decimal: exit and stop prices, sizes, fees, P&L.

A BUY GAME is long: the entry buys at market and the exit sells with a limit at
    exit = reference × (1 + target_yield% / 100 / leverage)
so that, filled, the position earns `target_yield%` of its margin (notional / leverage) before fees.
The stop loss closes at market when the price reaches
    stop = entry × (1 − stop_loss% / 100 / leverage)
A SELL GAME (short) mirrors both. Prices are rounded to the market's tick *towards the entry* for the
stop (it triggers no later than the loss limit) and *away from it* for the exit (the target is met).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Literal

Side = Literal["long", "short"]
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def exit_price(*, side: Side, reference: Decimal, target_yield_pct: Decimal, leverage: int,
               tick: Decimal = ZERO) -> Decimal:
    """The exit limit price: `reference` moved by target / leverage in the game's favour."""
    move = Decimal(target_yield_pct) / HUNDRED / Decimal(leverage)
    if side == "long":
        return _to_step(reference * (1 + move), tick, ROUND_CEILING)
    return _to_step(reference * (1 - move), tick, ROUND_FLOOR)


def stop_loss_price(*, side: Side, entry: Decimal, stop_loss_pct: Decimal, leverage: int,
                    tick: Decimal = ZERO) -> Decimal:
    """The price at which the position has lost `stop_loss_pct` of its margin."""
    move = Decimal(stop_loss_pct) / HUNDRED / Decimal(leverage)
    if side == "long":
        return _to_step(entry * (1 - move), tick, ROUND_CEILING)
    return _to_step(entry * (1 + move), tick, ROUND_FLOOR)


def stop_hit(*, side: Side, price: Decimal, stop: Decimal) -> bool:
    return price <= stop if side == "long" else price >= stop


def target_hit(*, side: Side, price: Decimal, target: Decimal) -> bool:
    return price >= target if side == "long" else price <= target


def amount_to_step(amount: Decimal, step: Decimal) -> Decimal:
    """Order size rounded down to the market's amount step (never more than asked)."""
    return _to_step(amount, step, ROUND_DOWN)


def margin(*, amount: Decimal, price: Decimal, leverage: int) -> Decimal:
    return amount * price / Decimal(leverage)


def fee(*, amount: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    return amount * price * rate


def gross_pnl(*, side: Side, amount: Decimal, entry: Decimal, exit: Decimal) -> Decimal:
    direction = 1 if side == "long" else -1
    return (exit - entry) * amount * direction


@dataclass(frozen=True)
class GameResult:
    gross: Decimal
    fees: Decimal
    pnl: Decimal  # after fees
    margin: Decimal
    yield_pct: Decimal  # pnl / margin × 100

    @property
    def won(self) -> bool:
        return self.pnl > 0


def game_result(*, side: Side, amount: Decimal, entry: Decimal, exit: Decimal, leverage: int,
                entry_fee: Decimal, exit_fee: Decimal) -> GameResult:
    """P&L after fees of a finished game, and its yield on the margin it used."""
    gross = gross_pnl(side=side, amount=amount, entry=entry, exit=exit)
    fees = entry_fee + exit_fee
    pnl = gross - fees
    used = margin(amount=amount, price=entry, leverage=leverage)
    yield_pct = pnl / used * HUNDRED if used else ZERO
    return GameResult(gross=gross, fees=fees, pnl=pnl, margin=used, yield_pct=yield_pct)


def break_even_move_pct(*, maker: Decimal, taker: Decimal, exit_is_maker: bool = True) -> Decimal:
    """The price move (in %) a game needs to cover its fees: entry taker + exit maker (or taker)."""
    return (taker + (maker if exit_is_maker else taker)) * HUNDRED
