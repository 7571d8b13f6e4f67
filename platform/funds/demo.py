"""Demo catalog: bots of all three kinds and a few funds. Idempotent (keyed by slug)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from bots.models import Bot, BotKind
from funds.models import Fund, FundBot, FundPeriod, FundStatus

DEMO_BOTS = [
    {
        "slug": "trend-rider-btc",
        "name": "Trend Rider BTC",
        "kind": BotKind.AUTOMATED,
        "strategy": "sma_cross",
        "description": "Follows BTC trends with a fast/slow moving-average crossover. Long only.",
        "default_setting": {"symbol": "BTC/USDT", "timeframe": "1h", "fast": 10, "slow": 30},
    },
    {
        "slug": "mean-revert-eth",
        "name": "Mean Revert ETH",
        "kind": BotKind.AUTOMATED,
        "strategy": "rsi_reversion",
        "description": "Buys ETH dips when RSI is oversold and sells into strength.",
        "default_setting": {"symbol": "ETH/USDT", "timeframe": "15m"},
    },
    {
        "slug": "band-scalper",
        "name": "Band Scalper",
        "kind": BotKind.AUTOMATED,
        "strategy": "bollinger_scalp",
        "description": "Scalps moves back inside the Bollinger bands on 5-minute bars.",
        "default_setting": {"symbol": "BTC/USDT", "timeframe": "5m"},
    },
    {
        "slug": "grid-sol",
        "name": "Grid SOL",
        "kind": BotKind.AUTOMATED,
        "strategy": "grid",
        "description": "Buys low and sells high on a price grid for ranging markets.",
        "default_setting": {"symbol": "SOL/USDT", "timeframe": "5m"},
    },
    {
        "slug": "ttadak",
        "name": "Ttadak",
        "kind": BotKind.MANUAL,
        "strategy": "ttadak",
        "description": "BUY GAME / SELL GAME: two high-leverage orders at nearly the same time.",
        "default_setting": {"symbol": "BTC/USDT:USDT", "leverage": 20},
    },
    {
        "slug": "btc-trend-signal",
        "name": "BTC Trend Signal",
        "kind": BotKind.INDICATOR,
        "strategy": "sma_cross",
        "description": "No trading: pushes a message when the BTC trend turns, to Telegram, Slack or e-mail.",
        "default_setting": {"symbol": "BTC/USDT", "timeframe": "4h", "fast": 10, "slow": 30},
    },
]

DEMO_FUNDS = [
    {
        "slug": "core-trend",
        "name": "Core Trend",
        "description": "Trend following on the two largest coins.",
        "fee": Decimal("19.00"),
        "bots": [("trend-rider-btc", Decimal("0.6")), ("mean-revert-eth", Decimal("0.4"))],
    },
    {
        "slug": "active-range",
        "name": "Active Range",
        "description": "Scalping and grid bots for sideways markets.",
        "fee": Decimal("29.00"),
        "bots": [("band-scalper", Decimal("0.5")), ("grid-sol", Decimal("0.5"))],
    },
    {
        "slug": "signals-only",
        "name": "Signals Only",
        "description": "Indicator bots: forecasts pushed to your chats, no trading.",
        "fee": Decimal("5.00"),
        "bots": [("btc-trend-signal", Decimal("1"))],
    },
]


@transaction.atomic
def demo_catalog_load(*, progress: bool = False) -> None:
    for spec in DEMO_BOTS:
        values = {key: value for key, value in spec.items() if key != "slug"}
        Bot.objects.update_or_create(slug=spec["slug"], defaults=values)
    for spec in DEMO_FUNDS:
        fund, _ = Fund.objects.update_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "description": spec["description"],
                "fee": spec["fee"],
                "currency": "USDT",
                "period": FundPeriod.MONTHLY,
                "status": FundStatus.OPEN,
            },
        )
        for slug, weight in spec["bots"]:
            FundBot.objects.update_or_create(fund=fund, bot=Bot.objects.get(slug=slug), defaults={"weight": weight})
    if progress:
        print(f"  catalog: {len(DEMO_BOTS)} bots, {len(DEMO_FUNDS)} funds", flush=True)
