"""Numbers and times for people: thousands separators, signs, currencies, percentages, the user's zone."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUS = "−"  # U+2212: reads as a minus, not a hyphen


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def number(value: object, places: int = 2, *, signed: bool = False) -> str:
    """`1234.5` → `1,234.50`; with `signed`, `+1,234.50` / `−1,234.50`. Unknown → `—`."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    quantum = Decimal(1).scaleb(-places)
    try:
        rounded = amount.quantize(quantum, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # beyond the context's 28 digits (e.g. the annualised return of a 1-hour run)
        text = f"{abs(amount):.{places}E}"
        return (MINUS if amount < 0 else "+" if signed else "") + text
    text = f"{abs(rounded):,.{places}f}"
    if rounded < 0:
        return MINUS + text
    if signed and rounded > 0:
        return "+" + text
    return text


def money(value: object, currency: str = "USDT", *, signed: bool = False, places: int = 2) -> str:
    text = number(value, places, signed=signed)
    return text if text == "—" or not currency else f"{text} {currency}"


def percent(value: object, *, signed: bool = True, places: int = 2, ratio: bool = False) -> str:
    """A percentage. `ratio=True` takes 0.1234 for 12.34 %."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    if ratio:
        amount *= 100
    return f"{number(amount, places, signed=signed)} %"


def quantity(value: object) -> str:
    """A parameter or amount without trailing zeros: `10`, `0.5`, `1,500`."""
    amount = _decimal(value)
    if amount is None:
        return str(value)
    exponent = amount.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return number(amount, places)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(moment: datetime | None, tz_name: str | None, *, seconds: bool = False) -> str:
    """`2 May 2024, 14:03 CEST` in the user's time zone."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone(tz_name))
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return f"{local.day} {local:%b %Y}, {local.strftime(clock)} {local.tzname()}"


def day(moment: datetime | None, tz_name: str | None) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(zone(tz_name))
    return f"{local.day} {local:%b %Y}"
