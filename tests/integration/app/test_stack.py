"""The stack through the project's Traefik configuration: redirect, routing, end to end."""

from __future__ import annotations

import json
import os
import subprocess

import notes_stack as stack
import pytest
from notes_stack import FRONTEND, Stack

pytestmark = pytest.mark.slow


def test_http_redirects_to_https(app_stack: Stack) -> None:
    url = f"http://{app_stack.domain}:{app_stack.http_port}/api/notes?limit=1"
    response = stack.client().get(url)
    assert response.status_code in (301, 302, 307, 308)
    expected = f"https://{app_stack.domain}:{app_stack.https_port}/api/notes?limit=1"
    assert response.headers["location"] == expected


def test_root_serves_the_frontend(app_stack: Stack) -> None:
    response = stack.client().get(f"{app_stack.base_url}/")
    assert response.status_code == 200
    assert '<div id="root"></div>' in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" in response.headers


def test_api_reaches_the_backend_and_its_database(app_stack: Stack) -> None:
    with stack.client() as http:
        created = http.post(f"{app_stack.base_url}/api/notes", json={"title": "via traefik"})
        assert created.status_code == 201, created.text
        note_id = created.json()["id"]
        fetched = http.get(f"{app_stack.base_url}/api/notes/{note_id}")
        assert fetched.json()["title"] == "via traefik"
        assert http.delete(f"{app_stack.base_url}/api/notes/{note_id}").status_code == 204


def test_docs_and_schema_reach_the_backend(app_stack: Stack) -> None:
    with stack.client() as http:
        docs = http.get(f"{app_stack.base_url}/docs")
        schema = http.get(f"{app_stack.base_url}/api/openapi.json")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert schema.json()["info"]["title"] == "MaestrOps notes"


def test_probes_and_metrics_stay_off_the_public_router(app_stack: Stack) -> None:
    # /metrics, /health and /ready are for the host's monitoring on port 8000, not the web.
    with stack.client() as http:
        for path in ("/metrics", "/health", "/ready"):
            response = http.get(f"{app_stack.base_url}{path}")
            assert "notes_http_requests" not in response.text
            assert '"status"' not in response.text


def test_unknown_host_is_not_routed(app_stack: Stack) -> None:
    response = stack.client().get(
        f"https://127.0.0.1:{app_stack.https_port}/api/notes", headers={"Host": "other.test"}
    )
    assert response.status_code == 404


def test_create_a_note_in_headless_chromium(app_stack: Stack) -> None:
    env = {**os.environ, "BASE_URL": app_stack.base_url}
    result = subprocess.run(
        ["node", "e2e/create-note.mjs"],
        cwd=FRONTEND,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["ok"] is True
    assert outcome["created"].startswith("e2e note ")
