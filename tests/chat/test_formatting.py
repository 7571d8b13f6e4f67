from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from chat import formatting


def test_money_has_thousands_separators_and_currency() -> None:
    assert formatting.money(Decimal("1234567.891"), "USDT") == "1,234,567.89 USDT"


def test_signed_money_shows_plus_and_a_real_minus() -> None:
    assert formatting.money(Decimal("12.5"), "USDT", signed=True) == "+12.50 USDT"
    assert formatting.money(Decimal("-12.5"), "USDT", signed=True) == "−12.50 USDT"


def test_percent_is_signed_by_default_and_reads_ratios() -> None:
    assert formatting.percent(Decimal("3.14159")) == "+3.14 %"
    assert formatting.percent(Decimal("0.25"), ratio=True, signed=False, places=0) == "25 %"
    assert formatting.percent(None) == "—"


def test_quantity_drops_trailing_zeros() -> None:
    assert formatting.quantity(Decimal("10.000")) == "10"
    assert formatting.quantity("0.50") == "0.5"
    assert formatting.quantity(1500) == "1,500"
    assert formatting.quantity("BTC/USDT") == "BTC/USDT"


def test_times_are_shown_in_the_users_zone() -> None:
    moment = datetime(2024, 5, 2, 12, 3, tzinfo=UTC)
    assert formatting.when(moment, "Europe/Berlin") == "2 May 2024, 14:03 CEST"
    assert formatting.when(moment, "Not/AZone") == "2 May 2024, 12:03 UTC"


def test_numbers_beyond_decimal_precision_are_shown_not_crashed_on() -> None:
    assert formatting.number(Decimal("2.3107807203055100E+30"), signed=True) == "+2.31E+30"
    assert formatting.percent(-2.31e30) == "−2.31E+30 %"
