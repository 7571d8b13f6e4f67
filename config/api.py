"""The one NinjaAPI: mounts every app's Router under /api/v1 and maps errors to one JSON shape.

Error shape for every 4xx: {"error": {"code": "...", "message": "...", "field": "..." | null}}.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from core.errors import ApplicationError
from users.auth import api_auth

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="L&D Platform API",
    version="1",
    description="Bots, funds, exchange keys and reports. Authenticate with `Authorization: Bearer <token>`.",
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
    auth=api_auth,  # every endpoint needs a token or a session unless it says auth=None
)


def error_response(request: HttpRequest, *, status: int, code: str, message: str, field: str | None = None):
    return api.create_response(request, {"error": {"code": code, "message": message, "field": field}}, status=status)


@api.exception_handler(ApplicationError)
def on_application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return error_response(request, status=exc.status_code, code=exc.code, message=exc.message, field=exc.field)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    location = [str(part) for part in first.get("loc", []) if part not in ("body", "query", "path", "payload")]
    field = ".".join(location) or None
    message = first.get("msg", "invalid input")
    if field:
        message = f"{field}: {message}"
    return error_response(request, status=422, code="invalid", message=message, field=field)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, status=401, code="unauthorized", message="missing or invalid API token")


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, status=404, code="not_found", message="not found")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(request, status=exc.status_code, code="error", message=str(exc))


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Never leak internals (or secrets in an exception text) to an API client.
    logger.exception("unhandled API error on %s %s", request.method, request.path)
    return error_response(request, status=500, code="internal", message="internal error; it has been logged")


@csrf_exempt  # nothing is done; a POST without a CSRF token must get the JSON 404 too, not an HTML 403
def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other path under /api/ (config.urls): the same JSON error shape, not Django's HTML page."""
    return error_response(request, status=404, code="not_found",
                          message="No such API endpoint. The reference is at /api/docs.")


def _mount_routers() -> None:
    from bots.api import router as bots_router
    from exchanges.api import router as exchanges_router
    from funds.api import router as funds_router
    from users.api import router as users_router

    api.add_router("/v1/users", users_router)
    api.add_router("/v1/exchange-settings", exchanges_router)
    api.add_router("/v1/bots", bots_router)
    api.add_router("/v1/funds", funds_router)
    api.add_router("/v1/runtime", "bots.api_runtime.router")  # START/STOP, live status, reports
    api.add_router("/v1/users/me/notifications", "notifications.api.router")
    api.add_router("/v1/simulations", "trading.api.router")  # start, follow, results, strategies
    api.add_router("/v1/ttadak", "ttadak.api.router")  # game panel, games, BUY / SELL press, CLOSE NOW


_mount_routers()
