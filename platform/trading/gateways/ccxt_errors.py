"""ccxt exceptions -> our gateway taxonomy, with user-facing messages and no secrets.

We map by the exchange's own error code first (parsed from the body ccxt puts in the message), and only
then by the ccxt class. ccxt picks Binance's per-market error tables by URL host (`https://fapi.binance…`),
so with another base URL (the emulator, a proxy) -2019 arrives as a plain ExchangeError; and after one
successful call ccxt turns -2015 into DDoSProtection. Codes are stable; classes depend on the URL.
"""

from __future__ import annotations

import json
import re
from typing import Any

import ccxt

from core.log_redaction import redact
from trading.gateways import errors as gw

_BODY = re.compile(r"\{.*\}", re.DOTALL)
_QUERY = re.compile(r"(https?://\S+?)\?\S*")

AUTH_MESSAGES = {
    -2015: "The exchange refused this API key: either the key is wrong or deleted, or it is restricted to IP "
           "addresses that do not include this server, or it lacks the futures permission.",
    -2014: "The API key is malformed. Copy it again from the exchange's API management page.",
    -1022: "The API secret does not match the key. Copy the secret again, or create a new key.",
    -1002: "The exchange says this request is not authorized for the key.",
}

# Binance code -> (our error class, user message or None for the class default)
BINANCE_CODES: dict[int, tuple[type[gw.GatewayError], str | None]] = {
    **{code: (gw.AuthenticationFailed, message) for code, message in AUTH_MESSAGES.items()},
    -2019: (gw.InsufficientFunds, "Not enough margin on the exchange account for this order."),
    -2018: (gw.InsufficientFunds, "The exchange account's balance is insufficient for this order."),
    -2013: (gw.OrderNotFound, None),
    -2011: (gw.OrderNotFound, "The exchange does not know this order (or it is already closed)."),
    -4116: (gw.DuplicateClientOrderId, None),
    -1003: (gw.RateLimited, None),
    -1015: (gw.RateLimited, "The exchange's order rate limit was reached; the platform will retry shortly."),
    -1021: (gw.ExchangeClockSkew, None),
    -1000: (gw.TemporaryGatewayError, None),
    -1001: (gw.TemporaryGatewayError, None),
    -1006: (gw.TemporaryGatewayError, None),
    -1007: (gw.TemporaryGatewayError, None),
    -1008: (gw.TemporaryGatewayError, "The exchange is overloaded right now; the platform will retry."),
    -1121: (gw.UnknownSymbol, None),
    -4164: (gw.InvalidOrder, "The order is below the exchange's minimum order value for this market."),
    -4003: (gw.InvalidOrder, "The order quantity must be greater than zero."),
    -4004: (gw.InvalidOrder, "The order quantity is below the market's minimum."),
    -4005: (gw.InvalidOrder, "The order quantity is above the market's maximum."),
    -1111: (gw.InvalidOrder, "The order quantity has more decimals than the market allows."),
    -4014: (gw.InvalidOrder, "The order price is not a multiple of the market's tick size."),
    -2022: (gw.InvalidOrder, "A reduce-only order would not reduce the position."),
    -4028: (gw.InvalidOrder, "The exchange does not allow this leverage for the market."),
    -2010: (gw.InvalidOrder, None),
    -1013: (gw.InvalidOrder, None),
    -1100: (gw.InvalidOrder, None),
    -1102: (gw.InvalidOrder, None),
    -1116: (gw.InvalidOrder, None),
    -1117: (gw.InvalidOrder, None),
    -1115: (gw.InvalidOrder, None),
    -1128: (gw.InvalidOrder, None),
    -1130: (gw.InvalidOrder, None),
    -4001: (gw.InvalidOrder, None),
}

# Fallbacks by ccxt class, most specific first.
CCXT_CLASSES: list[tuple[type[Exception], type[gw.GatewayError]]] = [
    (ccxt.DDoSProtection, gw.RateLimited),  # includes RateLimitExceeded; 418/429
    (ccxt.InvalidNonce, gw.ExchangeClockSkew),
    (ccxt.NetworkError, gw.TemporaryGatewayError),  # RequestTimeout, ExchangeNotAvailable, …
    (ccxt.OperationFailed, gw.TemporaryGatewayError),
    (ccxt.AuthenticationError, gw.AuthenticationFailed),
    (ccxt.PermissionDenied, gw.PermissionMissing),
    (ccxt.AccountSuspended, gw.PermissionMissing),
    (ccxt.InsufficientFunds, gw.InsufficientFunds),
    (ccxt.OrderNotFound, gw.OrderNotFound),
    (ccxt.BadSymbol, gw.UnknownSymbol),
    (ccxt.InvalidOrder, gw.InvalidOrder),
    (ccxt.BadRequest, gw.InvalidOrder),
]


def exchange_error_body(exc: BaseException) -> dict[str, Any] | None:
    """The `{"code": …, "msg": …}` the exchange answered, if ccxt kept it in the message."""
    match = _BODY.search(str(exc))
    if not match:
        return None
    try:
        body = json.loads(match.group(0))
    except ValueError:
        return None
    return body if isinstance(body, dict) and "code" in body else None


def safe_detail(exc: BaseException) -> str:
    """The ccxt message for logs: query strings (timestamps, signatures) cut, secrets redacted."""
    return redact(_QUERY.sub(r"\1?…", f"{type(exc).__name__}: {exc}"))[:500]


def retry_after_from(headers: dict[str, str] | None, default: float = 1.0) -> float:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                break
    return default


def map_ccxt_error(exc: BaseException, *, response_headers: dict[str, str] | None = None) -> gw.GatewayError:
    """Translate a ccxt exception (or an unexpected one) into a GatewayError; never leaks secrets."""
    if isinstance(exc, gw.GatewayError):
        return exc
    detail = safe_detail(exc)
    body = exchange_error_body(exc)
    cls: type[gw.GatewayError] | None = None
    user_message: str | None = None
    if body is not None:
        try:
            code = int(body["code"])
        except (TypeError, ValueError):
            code = None
        if code in BINANCE_CODES:
            cls, user_message = BINANCE_CODES[code]
    if cls is None:
        cls = next((ours for theirs, ours in CCXT_CLASSES if isinstance(exc, theirs)), None)
    if cls is None:
        cls = gw.TemporaryGatewayError if isinstance(exc, OSError | TimeoutError) else gw.PermanentGatewayError
    if cls is gw.PermanentGatewayError and body and body.get("msg"):
        user_message = f"The exchange refused the request: {str(body['msg'])[:200]}"
    if issubclass(cls, gw.RateLimited):
        return cls(detail, retry_after=retry_after_from(response_headers), user_message=user_message)
    return cls(detail, user_message=user_message)
