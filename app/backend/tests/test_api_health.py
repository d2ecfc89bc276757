"""``/api/health``: what the deploy checks through Traefik, against the real database."""

from __future__ import annotations

from fastapi.testclient import TestClient

from notes_api.main import create_app
from notes_api.settings import Settings


def test_api_health_names_the_backend_and_is_compact(client: TestClient) -> None:
    for _ in range(2):  # the deploy's check asks again and again
        response = client.get("/api/health")
        assert response.status_code == 200
        # The deploy script looks for this exact text (runners/steps/deploy.py).
        assert '"service":"notes-api"' in response.text
        assert response.json() == {"service": "notes-api", "status": "ok"}


def test_api_health_fails_when_the_database_is_down() -> None:
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    down = Settings(
        postgres_host="127.0.0.1", postgres_port=9, migrate_on_start=False, log_level="WARNING"
    )
    with TestClient(create_app(down)) as client:
        response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["service"] == "notes-api"
