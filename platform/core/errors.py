"""One error hierarchy for business rules.

Services raise these; the API maps them to 4xx, chat to a short reply, tasks decide retry or give up
from the type. `message` is safe to show to the user who caused it.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A business rule said no. The message is user-facing."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}


class ValidationError(ApplicationError):
    status_code = 422
    code = "invalid"


class NotFound(ApplicationError):
    """Also raised for other users' objects: nobody learns that someone else's id exists."""

    status_code = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "forbidden"


class Conflict(ApplicationError):
    """The object is in a state that does not allow the action (e.g. starting a running bot)."""

    status_code = 409
    code = "conflict"


class TemporaryError(ApplicationError):
    """Worth retrying later (network, rate limit, exchange busy)."""

    status_code = 503
    code = "temporary"
