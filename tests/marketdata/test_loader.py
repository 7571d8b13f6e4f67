"""The ccxt loader: paging, resume and gaps.

Paging and resume run through the real ccxt `binanceusdm` client against the local exchange emulator
(emulators/exchange, klines endpoint). Gaps use a small fake exchange: the emulator always serves a
continuous series, so it cannot show an exchange that lacks bars.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.errors import TemporaryError
from marketdata.generator import generate_candles
from marketdata.loaders import candles_load, ccxt_client
from marketdata.models import Candle
from marketdata.selectors import candles_get
from marketdata.timeframes import from_ms, to_ms

pytestmark = pytest.mark.django_db

START = datetime(2024, 1, 1, tzinfo=UTC)
BARS = 450
FAR_FUTURE = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def emulated_market(exchange_emulator, exchange_api_base):
    candles = generate_candles("BTC/USDT", start_ms=to_ms(START), count=BARS, seed=9)
    rows = [[int(t), o, h, lo, c, v] for t, o, h, lo, c, v in zip(
        candles.ts, candles.open, candles.high, candles.low, candles.close, candles.volume, strict=True)]
    # The clock stands after the loaded bars: they are all closed.
    exchange_emulator.exchange.load_candles("BTCUSDT", rows, start_index=BARS)
    return candles


def klines_requests(emulator) -> list[dict]:
    return [r.to_dict() for r in emulator.exchange.requests(path="/fapi/v1/klines")]


def load(client, **kwargs):
    kwargs.setdefault("start", START)
    kwargs.setdefault("end", START + timedelta(minutes=BARS))
    return candles_load(client=client, exchange="binanceusdm", symbol="BTC/USDT", timeframe="1m",
                        page_limit=100, now=FAR_FUTURE, **kwargs)


def test_loader_pages_through_the_exchange_with_real_ccxt(emulated_market, exchange_emulator) -> None:
    report = load(ccxt_client("binanceusdm"))
    assert (report.fetched, report.stored, report.gaps) == (BARS, BARS, [])
    assert report.pages >= BARS // 100
    stored = candles_get(exchange="binanceusdm", symbol="BTC/USDT", timeframe="1m", start=START,
                         end=START + timedelta(minutes=BARS))
    np.testing.assert_allclose(stored.close, emulated_market.close, atol=0.051)  # the emulator rounds to 0.1
    assert not stored.synthetic and stored.exchange == "binanceusdm"


def test_a_second_load_fetches_nothing_and_an_interrupted_one_resumes(emulated_market, exchange_emulator) -> None:
    client = ccxt_client("binanceusdm")
    load(client)
    assert load(client).pages == 0
    cut = START + timedelta(minutes=300)
    Candle.objects.filter(open_time__gte=cut).delete()  # as if the first load stopped there
    exchange_emulator.exchange.request_log.clear()
    report = load(client)
    assert report.missing_before == [(cut, START + timedelta(minutes=BARS))]
    assert report.stored == BARS - 300
    first = klines_requests(exchange_emulator)[0]
    assert str(to_ms(cut)) in str(first)  # the first page asked from where the store stopped


def test_a_failed_page_keeps_what_was_stored_and_the_rerun_completes(emulated_market, exchange_emulator) -> None:
    client = ccxt_client("binanceusdm")
    real = client.fetch_ohlcv
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # the exchange fails on the third page
            exchange_emulator.faults.add({"kind": "server_error", "path": "/fapi/v1/klines", "times": 1})
        return real(*args, **kwargs)

    client.fetch_ohlcv = flaky
    with pytest.raises(TemporaryError, match="run the load again"):
        load(client)
    assert Candle.objects.count() == 200
    client.fetch_ohlcv = real
    assert load(client).stored == BARS - 200
    assert Candle.objects.count() == BARS


class FakeExchange:
    """ccxt-shaped fetch_ohlcv over a fixed list of bars, with holes where the exchange had an outage."""

    def __init__(self, candles, missing: set[int], max_limit: int = 50):
        self.rows = [[int(t), o, h, lo, c, v] for i, (t, o, h, lo, c, v) in enumerate(zip(
            candles.ts, candles.open, candles.high, candles.low, candles.close, candles.volume, strict=True))
            if i not in missing]
        self.max_limit = max_limit
        self.calls: list[tuple[int, int]] = []

    def fetch_ohlcv(self, symbol, timeframe="1m", since=None, limit=None, params=None):
        self.calls.append((since, limit))
        limit = min(limit or self.max_limit, self.max_limit)
        return [row for row in self.rows if row[0] >= since][:limit]


def test_bars_the_exchange_lacks_are_reported_as_gaps_and_paging_follows_the_data() -> None:
    candles = generate_candles("ETH/USDT", start_ms=to_ms(START), count=200, seed=2)
    fake = FakeExchange(candles, missing=set(range(60, 75)) | {150})
    report = candles_load(client=fake, exchange="fakex", symbol="ETH/USDT", timeframe="1m", start=START,
                          end=START + timedelta(minutes=200), market_symbol="ETH/USDT", page_limit=100,
                          now=FAR_FUTURE)
    assert report.stored == 200 - 16
    assert report.gaps == [(START + timedelta(minutes=60), START + timedelta(minutes=75)),
                           (START + timedelta(minutes=150), START + timedelta(minutes=151))]
    assert all(limit == 100 for _, limit in fake.calls) and len(fake.calls) == 4  # 50-bar pages + empty


def test_the_bar_still_forming_is_not_stored() -> None:
    candles = generate_candles("ETH/USDT", start_ms=to_ms(START), count=30, seed=2)
    fake = FakeExchange(candles, missing=set())
    now = START + timedelta(minutes=20, seconds=30)
    report = candles_load(client=fake, exchange="fakex", symbol="ETH/USDT", timeframe="1m", start=START,
                          end=START + timedelta(minutes=30), market_symbol="ETH/USDT", now=now)
    assert report.stored == 20
    assert Candle.objects.order_by("-open_time").first().open_time == from_ms(to_ms(START) + 19 * 60_000)


def test_resampled_minutes_agree_with_the_exchanges_own_bars(emulated_market, exchange_emulator) -> None:
    from marketdata.resample import resample

    client = ccxt_client("binanceusdm")
    load(client)
    minutes = candles_get(exchange="binanceusdm", symbol="BTC/USDT", timeframe="1m", start=START,
                          end=START + timedelta(minutes=BARS))
    ours = resample(minutes, "15m", complete_only=True)
    theirs = np.array(client.fetch_ohlcv("BTC/USDT:USDT", "15m", since=to_ms(START), limit=BARS // 15),
                      dtype=float)
    np.testing.assert_array_equal(ours.ts, theirs[:, 0].astype(np.int64))
    for column, index in (("open", 1), ("high", 2), ("low", 3), ("close", 4)):
        np.testing.assert_allclose(getattr(ours, column), theirs[:, index], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.volume, theirs[:, 5], atol=0.01)  # the exchange rounds volume
