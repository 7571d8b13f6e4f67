from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.factories import UserFactory
from users.models import User
from users.services import api_token_create


class ApiClient:
    """JSON requests with the user's Bearer token."""

    def __init__(self, user: User | None, token: str | None) -> None:
        self.user = user
        self.token = token
        self.client = Client()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, body: Any = None, *, raw: str | bytes | None = None, **query: Any):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        call = getattr(self.client, method.lower())
        if method.upper() == "GET":
            return call(path, query or None, headers=self._headers())
        return call(path, data=data, content_type="application/json", headers=self._headers())

    def get(self, path: str, **query: Any):
        return self.request("GET", path, **query)

    def post(self, path: str, body: Any = None, **kw: Any):
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any):
        return self.request("PATCH", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any):
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any):
        return self.request("DELETE", path, **kw)


def client_for(user: User) -> ApiClient:
    _, token = api_token_create(user=user, name="tests")
    return ApiClient(user, token)


@pytest.fixture
def api(db) -> ApiClient:
    return client_for(UserFactory())


@pytest.fixture
def anonymous(db) -> ApiClient:
    return ApiClient(None, None)


def assert_error(response, status: int, *, field: str | None = None, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field, body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
