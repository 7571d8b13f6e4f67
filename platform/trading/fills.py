"""The fill model: how a simulated (or paper) order becomes a fill. One definition for the simulator and
the paper gateway, so a dry-run fills exactly like a simulation would.

Every function works on floats (the simulator) and on Decimals (the paper gateway) alike — pass all
arguments of one kind; no float constants are mixed in.

Rules (README "Simulation"):
- a market order decided on a bar's close fills at the next bar's open, moved against the taker by
  `slippage_bps` (buy higher, sell lower);
- fee = fee_rate × notional (price × amount) on every fill;
- entry size: amount = equity × fraction / (price × (1/leverage + fee_rate)), so margin plus the entry
  fee spend exactly that share of equity (with leverage 1 and all equity: equity / (price × (1 + fee)));
- isolated margin: a position is liquidated when its loss reaches its margin (amount × entry / leverage):
  long at entry × (1 - 1/leverage), short at entry × (1 + 1/leverage);
- stop-loss / take-profit fill at their level when a bar's low/high touches it, or at the bar's open if
  the bar opens beyond the level (a gap); when one bar touches both, the stop-loss is assumed first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, TypeVar

N = TypeVar("N", float, Decimal)

Side = Literal["long", "short"]
OrderSide = Literal["buy", "sell"]


def market_fill_price(reference: N, side: OrderSide, slippage_bps: N) -> N:
    """The price a market order gets: the next bar's open (`reference`) moved against the taker."""
    if side == "buy":
        return reference * (10_000 + slippage_bps) / 10_000
    return reference * (10_000 - slippage_bps) / 10_000


def fee_for(price: N, amount: N, fee_rate: N) -> N:
    return price * amount * fee_rate


def entry_amount(equity: N, fraction: N, price: N, fee_rate: N, leverage: int | N) -> N:
    """Base units so that margin + entry fee = equity × fraction."""
    return equity * fraction / (price / leverage + price * fee_rate)


def margin_for(entry_price: N, amount: N, leverage: int | N) -> N:
    return entry_price * amount / leverage


def liquidation_price(entry_price: N, side: Side, leverage: int | N) -> N | None:
    """Where the loss equals the margin. None for an unleveraged long (it cannot lose more than it paid)."""
    if side == "long":
        return None if leverage == 1 else entry_price - entry_price / leverage
    return entry_price + entry_price / leverage


def bar_exit(
    side: Side, bar_open: N, bar_high: N, bar_low: N, *,
    stop_loss: N | None = None, take_profit: N | None = None, liquidation: N | None = None,
) -> tuple[N, str] | None:
    """Whether a bar closes the position through its stop-loss, take-profit or liquidation, and at what price.

    Returns (price, reason) with reason "liquidation" | "stop_loss" | "take_profit", or None.
    A liquidation always fills at the liquidation price: with isolated margin the loss stops at the margin.
    """
    if side == "long":
        if liquidation is not None and bar_open <= liquidation:
            return liquidation, "liquidation"
        if stop_loss is not None and bar_open <= stop_loss:
            return bar_open, "stop_loss"
        if take_profit is not None and bar_open >= take_profit:
            return bar_open, "take_profit"
        # Going down from the open, the higher of the two adverse levels is met first.
        adverse = [(level, reason) for level, reason in ((stop_loss, "stop_loss"), (liquidation, "liquidation"))
                   if level is not None and bar_low <= level]
        if adverse:
            return max(adverse, key=lambda item: item[0])
        if take_profit is not None and bar_high >= take_profit:
            return take_profit, "take_profit"
        return None
    if liquidation is not None and bar_open >= liquidation:
        return liquidation, "liquidation"
    if stop_loss is not None and bar_open >= stop_loss:
        return bar_open, "stop_loss"
    if take_profit is not None and bar_open <= take_profit:
        return bar_open, "take_profit"
    adverse = [(level, reason) for level, reason in ((stop_loss, "stop_loss"), (liquidation, "liquidation"))
               if level is not None and bar_high >= level]
    if adverse:
        return min(adverse, key=lambda item: item[0])
    if take_profit is not None and bar_low <= take_profit:
        return take_profit, "take_profit"
    return None


def stop_levels(entry_price: N, side: Side, stop_loss_pct: N, take_profit_pct: N) -> tuple[N | None, N | None]:
    """Stop-loss and take-profit prices for percentages of the entry price (0 = none)."""
    sl = tp = None
    if side == "long":
        if stop_loss_pct:
            sl = entry_price * (100 - stop_loss_pct) / 100
        if take_profit_pct:
            tp = entry_price * (100 + take_profit_pct) / 100
    else:
        if stop_loss_pct:
            sl = entry_price * (100 + stop_loss_pct) / 100
        if take_profit_pct:
            tp = entry_price * (100 - take_profit_pct) / 100
    return sl, tp
