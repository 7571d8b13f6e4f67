from __future__ import annotations

import re

from core.errors import ValidationError

_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,12}(:[A-Z0-9]{1,12})?$")


def symbol_canonical(symbol: str, *, field: str = "symbol") -> str:
    """BASE/QUOTE, upper case. A ccxt futures suffix (BTC/USDT:USDT) is dropped: the candle store keys
    markets by base/quote and tells spot from futures by the exchange id (binance vs binanceusdm)."""
    text = (symbol or "").strip().upper()
    if not _SYMBOL.match(text):
        raise ValidationError(f"{field} must look like BTC/USDT (got {symbol!r})", field=field)
    return text.split(":", 1)[0]
