"""Unknown paths under /api/ answer the API's one JSON error shape, never Django's HTML 404 page."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/nope"),
        ("GET", "/api/v2/funds"),
        ("GET", "/api/v1/funds/"),  # a trailing slash is not an endpoint either
        ("POST", "/api/v1/bots/catalog/1/nope"),
        ("DELETE", "/api/nothing/here"),
    ],
)
def test_unknown_api_paths_answer_json_404(api: ApiClient, method: str, path: str) -> None:
    response = api.request(method, path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "error": {"code": "not_found", "message": "No such API endpoint. The reference is at /api/docs.",
                  "field": None}
    }


def test_unknown_api_paths_answer_json_404_without_a_token_too(anonymous: ApiClient) -> None:
    response = anonymous.post("/api/v1/nope", {"x": 1})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_known_endpoints_and_the_docs_are_still_served(api: ApiClient) -> None:
    assert api.get("/api/v1/funds").status_code == 200
    assert api.get("/api/openapi.json").status_code == 200
    assert api.get("/api/v1/bots/catalog/999999").json()["error"]["code"] == "not_found"
