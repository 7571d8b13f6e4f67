"""The emulator's instruments: Binance USDⓈ-M perpetuals with real-looking filters and leverage brackets."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Instrument:
    symbol: str
    base: str
    start_price: Decimal
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    price_precision: int
    quantity_precision: int
    volatility: float  # per-minute standard deviation of log returns
    max_leverage: int = 125
    quote: str = "USDT"

    @property
    def brackets(self) -> list[dict]:
        """Leverage brackets in the shape of GET /fapi/v1/leverageBracket (a real BTCUSDT-like ladder)."""
        ladder = [
            (self.max_leverage, 0, 50_000, "0.004", "0"),
            (min(self.max_leverage, 100), 50_000, 600_000, "0.005", "50"),
            (min(self.max_leverage, 75), 600_000, 3_000_000, "0.0065", "950"),
            (min(self.max_leverage, 50), 3_000_000, 12_000_000, "0.01", "11450"),
            (min(self.max_leverage, 25), 12_000_000, 70_000_000, "0.02", "131450"),
            (min(self.max_leverage, 20), 70_000_000, 100_000_000, "0.025", "481450"),
            (min(self.max_leverage, 10), 100_000_000, 230_000_000, "0.05", "2981450"),
            (min(self.max_leverage, 5), 230_000_000, 480_000_000, "0.1", "14481450"),
            (min(self.max_leverage, 4), 480_000_000, 600_000_000, "0.125", "26481450"),
            (min(self.max_leverage, 3), 600_000_000, 800_000_000, "0.15", "41481450"),
            (min(self.max_leverage, 2), 800_000_000, 1_200_000_000, "0.25", "121481450"),
            (1, 1_200_000_000, 1_800_000_000, "0.5", "421481450"),
        ]
        return [
            {
                "bracket": index + 1,
                "initialLeverage": leverage,
                "notionalCap": cap,
                "notionalFloor": floor,
                "maintMarginRatio": float(ratio),
                "cum": float(cum),
            }
            for index, (leverage, floor, cap, ratio, cum) in enumerate(ladder)
        ]

    def max_notional_for_leverage(self, leverage: int) -> int:
        """The notional cap of the highest bracket that still allows `leverage`."""
        cap = 0
        for bracket in self.brackets:
            if bracket["initialLeverage"] >= leverage:
                cap = bracket["notionalCap"]
        return cap


def _instrument(symbol: str, base: str, price: str, tick: str, step: str, min_qty: str, max_qty: str,
                market_max: str, min_notional: str, price_precision: int, qty_precision: int, vol: float,
                max_leverage: int) -> Instrument:
    return Instrument(
        symbol=symbol, base=base, start_price=Decimal(price), tick_size=Decimal(tick), step_size=Decimal(step),
        min_qty=Decimal(min_qty), max_qty=Decimal(max_qty), market_max_qty=Decimal(market_max),
        min_notional=Decimal(min_notional), price_precision=price_precision, quantity_precision=qty_precision,
        volatility=vol, max_leverage=max_leverage,
    )


# Filters copied from Binance's exchangeInfo (rounded); start prices are only a seed for the random walk.
INSTRUMENTS: dict[str, Instrument] = {
    i.symbol: i
    for i in [
        _instrument("BTCUSDT", "BTC", "60000", "0.10", "0.001", "0.001", "1000", "120", "100", 2, 3, 0.0009, 125),
        _instrument("ETHUSDT", "ETH", "3000", "0.01", "0.001", "0.001", "10000", "2000", "20", 2, 3, 0.0011, 100),
        _instrument("SOLUSDT", "SOL", "150", "0.0100", "1", "1", "1000000", "5000", "5", 4, 0, 0.0015, 75),
        _instrument("BNBUSDT", "BNB", "550", "0.010", "0.01", "0.01", "100000", "2000", "5", 3, 2, 0.0010, 75),
        _instrument("XRPUSDT", "XRP", "0.5500", "0.0001", "0.1", "0.1", "10000000", "2000000", "5", 4, 1, 0.0013, 75),
        _instrument("DOGEUSDT", "DOGE", "0.150000", "0.000010", "1", "1", "50000000", "30000000", "5", 6, 0,
                    0.0016, 75),
    ]
}

RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
]


def _plain(value: Decimal) -> str:
    return format(value, "f")


def symbol_info(instrument: Instrument) -> dict:
    """One entry of exchangeInfo["symbols"], shaped like Binance's."""
    return {
        "symbol": instrument.symbol,
        "pair": instrument.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": instrument.base,
        "quoteAsset": instrument.quote,
        "marginAsset": instrument.quote,
        "pricePrecision": instrument.price_precision,
        "quantityPrecision": instrument.quantity_precision,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _plain(instrument.tick_size),
                "maxPrice": _plain(instrument.start_price * 100),
                "tickSize": _plain(instrument.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _plain(instrument.min_qty),
                "maxQty": _plain(instrument.max_qty),
                "stepSize": _plain(instrument.step_size),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": _plain(instrument.min_qty),
                "maxQty": _plain(instrument.market_max_qty),
                "stepSize": _plain(instrument.step_size),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": _plain(instrument.min_notional)},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500",
             "multiplierDecimal": "4"},
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                       "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
    }


def exchange_info(server_time_ms: int, instruments: dict[str, Instrument] | None = None) -> dict:
    instruments = instruments or INSTRUMENTS
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": RATE_LIMITS,
        "exchangeFilters": [],
        "assets": [
            {"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"},
            {"asset": "BTC", "marginAvailable": True, "autoAssetExchange": "-0.10000000"},
        ],
        "symbols": [symbol_info(instrument) for instrument in instruments.values()],
    }
