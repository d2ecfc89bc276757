"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from notes_api.main import create_app
from notes_api.settings import Settings


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}


def test_ready_fails_when_the_database_is_down(settings: Settings) -> None:
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    down = Settings(
        postgres_host="127.0.0.1", postgres_port=9, migrate_on_start=False, log_level="WARNING"
    )
    with TestClient(create_app(down)) as client:
        assert client.get("/health").status_code == 200
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "database unreachable"}


def _samples(client: TestClient) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    for _ in range(3):
        note = client.post("/api/notes", json={"title": "m"}).json()
        client.get(f"/api/notes/{note['id']}")
    client.get("/api/notes/999999")
    client.get("/no/such/page")
    samples = _samples(client)

    def count(route: str, status: str) -> float:
        labels = frozenset({"method": "GET", "route": route, "status": status}.items())
        return samples.get(("notes_http_requests_total", labels), 0)

    assert count("/api/notes/{note_id}", "200") == 3
    assert count("/api/notes/{note_id}", "404") == 1
    assert count("unmatched", "404") == 1
    latency = ("notes_http_request_duration_seconds_count",)
    key = frozenset({"method": "POST", "route": "/api/notes"}.items())
    assert samples[(*latency, key)] == 3
