"""API authentication: a per-user token (`Authorization: Bearer <token>`) or a Django session.

The session is accepted so a logged-in operator can try the API from /api/docs; ninja checks CSRF on
cookie-authenticated unsafe requests. Blocked and pending accounts get a clear 403.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from users.models import User
from users.selectors import user_get_by_api_token
from users.services import user_require_active


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_get_by_api_token(token=token.strip())
        if user is None:
            return None
        user_require_active(user)  # PermissionDenied -> 403 with the reason
        return user


class ActiveSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        user_require_active(user)
        return user


api_auth = [ApiTokenAuth(), ActiveSessionAuth()]
