from __future__ import annotations

from django.test import Client


def test_root_shows_links_to_console_and_api_docs(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/admin/"' in html and 'href="/api/docs"' in html


def test_api_docs_and_schema_are_served(client: Client) -> None:
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/users/me" in schema["paths"] and "/api/v1/bots/catalog" in schema["paths"]
