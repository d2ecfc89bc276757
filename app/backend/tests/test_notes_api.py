"""The notes API end to end through FastAPI, on a real migrated PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _create(client: TestClient, title: str, body: str = "") -> dict:
    response = client.post("/api/notes", json={"title": title, "body": body})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_then_get(client: TestClient) -> None:
    created = _create(client, "  buy milk  ", "two litres")
    assert created["title"] == "buy milk"  # whitespace stripped before storing
    fetched = client.get(f"/api/notes/{created['id']}").json()
    assert fetched == created
    assert fetched["created_at"] == fetched["updated_at"]


def test_list_is_newest_first_and_paginated(client: TestClient) -> None:
    ids = [_create(client, f"note {i}")["id"] for i in range(5)]
    first = client.get("/api/notes", params={"limit": 2}).json()
    second = client.get("/api/notes", params={"limit": 2, "offset": 2}).json()
    last = client.get("/api/notes", params={"limit": 2, "offset": 4}).json()
    assert first["total"] == 5
    seen = [n["id"] for page in (first, second, last) for n in page["items"]]
    assert seen == list(reversed(ids))
    assert (first["limit"], second["offset"]) == (2, 2)


def test_limit_is_capped_by_settings(client: TestClient) -> None:
    page = client.get("/api/notes", params={"limit": 5000}).json()
    assert page == {"items": [], "total": 0, "limit": 100, "offset": 0}


def test_update_changes_only_sent_fields(client: TestClient) -> None:
    note = _create(client, "draft", "keep me")
    response = client.patch(f"/api/notes/{note['id']}", json={"title": "final"})
    assert response.status_code == 200
    updated = response.json()
    assert (updated["title"], updated["body"]) == ("final", "keep me")
    assert updated["updated_at"] >= note["updated_at"]


def test_delete_then_missing(client: TestClient) -> None:
    note = _create(client, "temporary")
    assert client.delete(f"/api/notes/{note['id']}").status_code == 204
    missing = client.get(f"/api/notes/{note['id']}")
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"note {note['id']} not found"}
    assert client.delete(f"/api/notes/{note['id']}").status_code == 404
    assert client.patch(f"/api/notes/{note['id']}", json={"body": "x"}).status_code == 404


def test_invalid_input_is_rejected(client: TestClient) -> None:
    assert client.post("/api/notes", json={"title": "   "}).status_code == 422
    assert client.post("/api/notes", json={"title": "x" * 201}).status_code == 422
    assert client.post("/api/notes", json={"title": "a", "owner": "b"}).status_code == 422
    assert client.get("/api/notes", params={"offset": -1}).status_code == 422
    assert client.get("/api/notes/not-a-number").status_code == 422
    assert client.get("/api/notes").json()["total"] == 0


def test_openapi_is_served_under_api(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    assert set(schema["paths"]) == {
        "/api/notes",
        "/api/notes/{note_id}",
        "/api/health",
        "/health",
        "/ready",
    }
    assert "swagger-ui" in client.get("/docs").text
