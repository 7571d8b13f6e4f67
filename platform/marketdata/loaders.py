"""Fill the candle store from an exchange through ccxt's `fetch_ohlcv`: paging, gaps, resume.

What to fetch is computed from the store itself: the bars missing in [start, end). So a load that was
interrupted resumes where the store stops, a second run over the same range fetches nothing, and holes
inside the range (an earlier outage) are fetched again. Every page is stored as it arrives. Bars the
exchange does not have either (its own downtime) are reported as gaps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from core.errors import TemporaryError, ValidationError
from marketdata.selectors import candle_open_times, missing_ranges
from marketdata.series import SYNTHETIC_EXCHANGE, Candles
from marketdata.services import candles_store
from marketdata.symbols import symbol_canonical
from marketdata.timeframes import from_ms, timeframe_ms, to_ms


class OhlcvClient(Protocol):
    """The part of a ccxt (sync) exchange the loader uses."""

    def fetch_ohlcv(self, symbol: str, timeframe: str = "1m", since: int | None = None,
                    limit: int | None = None, params: dict | None = None) -> list[list[Any]]: ...


@dataclass
class LoadReport:
    exchange: str
    symbol: str
    timeframe: str
    start: datetime
    end: datetime
    pages: int = 0
    fetched: int = 0
    stored: int = 0
    missing_before: list[tuple[datetime, datetime]] = field(default_factory=list)
    gaps: list[tuple[datetime, datetime]] = field(default_factory=list)  # still missing after the load


def ccxt_client(exchange_id: str) -> Any:
    """A sync ccxt client for public market data (no keys), pointed at EXCHANGE_API_BASE when set."""
    import ccxt
    from django.conf import settings

    if exchange_id == SYNTHETIC_EXCHANGE or not hasattr(ccxt, exchange_id):
        raise ValidationError(f"unknown exchange {exchange_id!r}", field="exchange")
    client = getattr(ccxt, exchange_id)({"enableRateLimit": True, "options": {"fetchCurrencies": False}})
    base = settings.EXCHANGE_API_BASE
    if base:
        for name, url in list(client.urls["api"].items()):
            if isinstance(url, str) and url.startswith("https://"):
                client.urls["api"][name] = base.rstrip("/") + url[url.index("/", len("https://")):]
    return client


def market_symbol_for(client: Any, symbol: str) -> str:
    """The client's symbol for BASE/QUOTE: itself on spot exchanges, BASE/QUOTE:QUOTE on linear futures."""
    if not hasattr(client, "load_markets"):
        return symbol
    markets = client.load_markets()
    quote = symbol.split("/")[1]
    for candidate in (symbol, f"{symbol}:{quote}"):
        if candidate in markets:
            return candidate
    raise ValidationError(f"{client.id} does not list {symbol}", field="symbol")


def _fetch_range(
    client: OhlcvClient, market: str, timeframe: str, begin_ms: int, end_ms: int, page_limit: int,
    store: Callable[[list[list[Any]]], int], report: LoadReport,
) -> None:
    step = timeframe_ms(timeframe)
    since = begin_ms
    while since < end_ms:
        try:
            page = client.fetch_ohlcv(market, timeframe, since=since, limit=page_limit)
        except Exception as exc:  # ccxt's NetworkError family and exchange errors alike
            raise TemporaryError(
                f"fetching {market} {timeframe} candles from {from_ms(since):%Y-%m-%d %H:%M} failed: "
                f"{type(exc).__name__}; run the load again to resume from there"
            ) from exc
        report.pages += 1
        if not page:
            return  # the exchange has nothing from `since` on
        rows = [row for row in page if begin_ms <= int(row[0]) < end_ms and int(row[0]) % step == 0]
        report.fetched += len(rows)
        if rows:
            report.stored += store(rows)
        last = max(int(row[0]) for row in page)
        if last < since:
            return  # no progress: never loop on a misbehaving exchange
        since = last + step


def candles_load(
    *, client: OhlcvClient, exchange: str, symbol: str, timeframe: str, start: datetime, end: datetime,
    market_symbol: str | None = None, page_limit: int = 1000, now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Fetch and store the closed `timeframe` bars of `symbol` with open time in [start, end)."""
    canonical = symbol_canonical(symbol)
    step = timeframe_ms(timeframe)
    if exchange == SYNTHETIC_EXCHANGE:
        raise ValidationError("'synthetic' is reserved for generated candles", field="exchange")
    if end <= start:
        raise ValidationError("end must be after start", field="end")
    now_ms = to_ms(now or datetime.now(UTC))
    # Only closed bars: the one still forming (open > now - step) would change later.
    end_ms = min(to_ms(end), now_ms - now_ms % step)
    start_ms = to_ms(start)
    report = LoadReport(exchange=exchange, symbol=canonical, timeframe=timeframe, start=start, end=from_ms(end_ms))
    if end_ms <= start_ms:
        return report
    market = market_symbol or market_symbol_for(client, canonical)

    def present() -> np.ndarray:
        return candle_open_times(exchange=exchange, symbol=canonical, timeframe=timeframe,
                                 start=from_ms(start_ms), end=from_ms(end_ms))

    def store(rows: list[list[Any]]) -> int:
        data = np.array([[float(value) for value in row[:6]] for row in rows])
        candles = Candles.from_arrays(
            data[:, 0].astype(np.int64), data[:, 1], data[:, 2], data[:, 3], data[:, 4], data[:, 5],
            timeframe=timeframe, symbol=canonical, exchange=exchange,
        )
        stored = candles_store(candles=candles)
        if progress:
            progress(len(rows))
        return stored

    missing = missing_ranges(present(), start_ms=start_ms, end_ms=end_ms, step_ms=step)
    report.missing_before = [(from_ms(a), from_ms(b)) for a, b in missing]
    for begin_ms, stop_ms in missing:
        _fetch_range(client, market, timeframe, begin_ms, stop_ms, page_limit, store, report)
    report.gaps = [
        (from_ms(a), from_ms(b)) for a, b in missing_ranges(present(), start_ms=start_ms, end_ms=end_ms, step_ms=step)
    ]
    return report
