from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from app import app
from chalicelib.runs.model import Run, RunStatus
from tests.functional.conftest import Controller

SPEC = OpenAPI.from_file_path(str(Path(__file__).parents[2] / "docs" / "openapi.yaml"))
AUTH = {"Authorization": "Bearer test-token"}


def get(client: Client, path: str, params: dict | None = None, headers: dict | None = None):
    query = urlencode(params or {})
    response = client.http.get(f"{path}?{query}" if query else path, headers=headers or AUTH)
    request = MockRequest(
        "http://127.0.0.1:8000", "get", path, args=params or {}, headers=headers or AUTH
    )
    SPEC.validate_response(
        request,
        MockResponse(
            response.body, status_code=response.status_code, content_type="application/json"
        ),
    )
    return response.status_code, json.loads(response.body)


def seed(controller: Controller) -> list[Run]:
    store = controller.services.store
    runs = []
    for number in range(7):
        run = Run(
            id=f"run-{number}",
            repo="Codertocat/Hello-World" if number % 2 == 0 else "Codertocat/Other",
            pipeline="terraform-plan" if number < 4 else "cd-application",
            sha=f"{number:040d}",
            branch="infra_features" if number < 4 else "deployment",
            pr=7 if number < 2 else None,
            run_number=number + 1,
            created_at=f"2026-11-2{number}T10:00:00.000Z",
        )
        runs.append(store.create(run))
    store.transition("run-1", RunStatus.DISPATCHED, runner_ref="b-1", backend="recording")
    return runs


def ids(body: dict) -> list[str]:
    return [run["id"] for run in body["runs"]]


def test_lists_newest_first_and_filters(controller: Controller) -> None:
    seed(controller)
    with Client(app) as client:
        assert ids(get(client, "/runs")[1]) == [f"run-{n}" for n in range(6, -1, -1)]
        assert ids(get(client, "/runs", {"repo": "Codertocat/Hello-World"})[1]) == [
            "run-6", "run-4", "run-2", "run-0"
        ]  # fmt: skip
        assert ids(get(client, "/runs", {"pipeline": "cd-application"})[1]) == [
            "run-6", "run-5", "run-4"
        ]  # fmt: skip
        assert ids(get(client, "/runs", {"status": "dispatched"})[1]) == ["run-1"]
        assert ids(get(client, "/runs", {"repo": "Codertocat/Other", "pr": 7})[1]) == ["run-1"]
        assert ids(get(client, "/runs", {"branch": "deployment", "status": "queued"})[1]) == [
            "run-6", "run-5", "run-4"
        ]  # fmt: skip
        since = get(client, "/runs", {"since": "2026-11-25"})[1]
        assert ids(since) == ["run-6", "run-5"]


def test_cursor_pages_through_everything_once(controller: Controller) -> None:
    seed(controller)
    seen: list[str] = []
    cursor = None
    with Client(app) as client:
        for _ in range(10):
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            status, body = get(client, "/runs", params)
            assert status == 200
            seen += ids(body)
            cursor = body["next_cursor"]
            if cursor is None:
                break
    assert seen == [f"run-{n}" for n in range(6, -1, -1)]


def test_get_one_run_and_404(controller: Controller) -> None:
    seed(controller)
    with Client(app) as client:
        status, body = get(client, "/runs/run-1")
        assert (status, body["status"], body["runner_ref"]) == (200, "dispatched", "b-1")
        status, body = get(client, "/runs/nope")
        assert (status, body["error"]["code"]) == (404, "run_not_found")


@pytest.mark.parametrize(
    ("params", "code"),
    [({"limit": "0"}, "invalid_parameter"), ({"cursor": "garbage!"}, "invalid_cursor")],
)
def test_bad_parameters_are_400_with_stable_codes(controller: Controller, params, code) -> None:
    with Client(app) as client:
        status, body = get(client, "/runs", params)
    assert (status, body["error"]["code"]) == (400, code)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_token_is_required_in_local_mode(controller: Controller, headers: dict) -> None:
    with Client(app) as client:
        status, body = get(client, "/runs", headers=headers or {"X-Nothing": "1"})
    assert (status, body["error"]["code"]) == (401, "unauthorized")
