"""The gateway error taxonomy (after Freqtrade's exceptions): what the caller should do next.

- TemporaryGatewayError: retry with backoff (network trouble, 5xx, timeouts).
- RateLimited: wait `retry_after` seconds, then retry.
- OrderResultUnknown: the request may or may not have reached the exchange. Never resend blindly:
  ask the exchange by client order id first.
- PermanentGatewayError and subclasses: do not retry; tell the user `user_message`.
"""

from __future__ import annotations


class GatewayError(Exception):
    user_message = "The exchange refused the request."

    def __init__(self, message: str = "", *, user_message: str | None = None):
        super().__init__(message or self.user_message)
        if user_message is not None:
            self.user_message = user_message


class TemporaryGatewayError(GatewayError):
    user_message = "The exchange is not reachable right now; the platform will retry."


class RateLimited(TemporaryGatewayError):
    user_message = "The exchange asked us to slow down; the platform will retry shortly."

    def __init__(self, message: str = "", *, retry_after: float | None = None, user_message: str | None = None):
        super().__init__(message, user_message=user_message)
        self.retry_after = retry_after


class OrderResultUnknown(TemporaryGatewayError):
    user_message = "The exchange did not confirm the order; the platform is checking its state."


class PermanentGatewayError(GatewayError):
    pass


class AuthenticationFailed(PermanentGatewayError):
    user_message = "The exchange rejected the API key or secret. Check them, or create a new key."


class PermissionMissing(PermanentGatewayError):
    user_message = "The API key lacks a permission this action needs (e.g. futures trading), or the IP is not allowed."


class InsufficientFunds(PermanentGatewayError):
    user_message = "Not enough margin or balance on the exchange account for this order."


class InvalidOrder(PermanentGatewayError):
    user_message = "The exchange rejected the order (size, price or market rules)."


class OrderNotFound(PermanentGatewayError):
    user_message = "The exchange does not know this order."


class UnknownSymbol(PermanentGatewayError):
    user_message = "The exchange does not list this market."


class DuplicateClientOrderId(InvalidOrder):
    """The exchange already has an order with this client order id (Binance -4116): ask for it, never resend."""

    user_message = "The exchange already has an order with this id; the platform is checking its state."


class ExchangeClockSkew(TemporaryGatewayError):
    """The request's timestamp fell outside the exchange's receive window (Binance -1021)."""

    user_message = "The platform's clock and the exchange's disagree; the platform will retry."
