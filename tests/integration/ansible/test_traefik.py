"""The real Traefik binary with the rendered static and dynamic configuration, on loopback.

Each Traefik service gets its own stand-in upstream that answers ``<service> <path>``, so a
response tells which route Traefik chose and what path it forwarded.
"""

from __future__ import annotations

import pytest
from ansible_harness import GRAFANA, Rendering, TraefikRun

pytestmark = pytest.mark.slow


def test_grafana_host_reaches_grafana_over_tls(traefik_monitoring: TraefikRun) -> None:
    status, headers, body = traefik_monitoring.get("websecure", GRAFANA, "/login")
    assert status == 200, traefik_monitoring.log.read_text()[-2000:]
    assert body == "grafana /login"
    # The upstream sees the public host name (Grafana builds its redirects from it).
    assert traefik_monitoring.upstreams["grafana"].seen[-1] == (GRAFANA, "/login")
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_other_hosts_are_not_routed(traefik_monitoring: TraefikRun) -> None:
    assert traefik_monitoring.get("websecure", "unknown.example.com")[0] == 404
    # prometheus.<domain> stays private unless prometheus_public is set.
    assert traefik_monitoring.get("websecure", "prometheus.example.com")[0] == 404
    assert set(traefik_monitoring.upstreams) == {"grafana"}


def test_http_redirects_to_https(traefik_monitoring: TraefikRun) -> None:
    status, headers, _ = traefik_monitoring.get("web", GRAFANA, "/d/maestrops-hosts")
    assert status in (301, 302, 307, 308)
    # To the websecure entrypoint's port: 443 on a host (omitted), a free port here.
    port = traefik_monitoring.ports["websecure"]
    assert headers["Location"] == f"https://{GRAFANA}:{port}/d/maestrops-hosts"


def test_internal_entrypoint_serves_ping_and_metrics(
    traefik_monitoring: TraefikRun, traefik_metrics: str
) -> None:
    assert traefik_monitoring.get("internal", "10.0.1.11", "/ping")[2] == "OK"
    assert "traefik_entrypoint_requests_total" in traefik_metrics
    assert 'service="grafana@file"' in traefik_metrics


def test_app_host_has_no_public_entrypoint(rendering: Rendering, traefik_app: TraefikRun) -> None:
    """The application's compose project owns 80/443 on app hosts (app/docker-compose.yml)."""
    assert set(rendering.load("app-1", "traefik/traefik.yml")["entryPoints"]) == {"internal"}
    ports = rendering.load("app-1", "compose.d/traefik.yml")["services"]["traefik"]["ports"]
    assert ports == ["10.0.1.10:8082:8082"]
    assert set(traefik_app.ports) == {"internal"}


def test_app_host_exposes_backend_metrics_on_the_internal_port(traefik_app: TraefikRun) -> None:
    """What the monitoring host scrapes: /backend/metrics -> backend:8000/metrics."""
    status, _, body = traefik_app.get("internal", "10.0.1.10", "/backend/metrics")
    assert (status, body) == (200, "backend-metrics /metrics")
    assert traefik_app.upstreams["backend-metrics"].seen == [("10.0.1.10", "/metrics")]
    # Nothing else of the backend is reachable through that port.
    assert traefik_app.get("internal", "10.0.1.10", "/api/notes")[0] == 404
    assert set(traefik_app.upstreams) == {"backend-metrics"}
