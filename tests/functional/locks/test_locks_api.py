"""``GET /locks`` and ``DELETE /locks/{id}``, validated against docs/openapi.yaml."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from openapi_core.testing import MockRequest, MockResponse

from app import app
from chalicelib.cli.locks import locks_table
from chalicelib.cli.main import main
from chalicelib.locks.lease import LockKey
from tests.functional.conftest import REPO, Controller
from tests.functional.locks.scenario import Clock, install_gate, job_runs, open_pr
from tests.functional.test_runs_api import AUTH, SPEC

KEY = LockKey(repo=REPO, directory="terraform/infra", workspace="default")


def call(client: Client, method: str, path: str, params: dict | None = None, headers=AUTH):
    query = urlencode(params or {})
    url = f"{path}?{query}" if query else path
    response = getattr(client.http, method)(url, headers=headers)
    request = MockRequest("http://127.0.0.1:8000", method, path, args=params or {}, headers=headers)
    SPEC.validate_response(
        request,
        MockResponse(
            response.body, status_code=response.status_code, content_type="application/json"
        ),
    )
    return response.status_code, json.loads(response.body)


@pytest.fixture
def contended(controller: Controller) -> Controller:
    install_gate(controller, Clock())
    with Client(app) as client:
        open_pr(controller, client, 7)
        open_pr(controller, client, 8)
    return controller


def test_list_shows_the_holder_and_the_queue(contended: Controller) -> None:
    with Client(app) as client:
        status, body = call(client, "get", "/locks")
        assert status == 200
        [lock] = body["locks"]
        assert (lock["id"], lock["holder_pr"], lock["fencing_token"]) == (KEY.id, 7, 1)
        assert lock["held"] and not lock["expired"] and lock["expires_at"].endswith("Z")
        assert [w["pr"] for w in lock["waiting"]] == [8]
        assert call(client, "get", "/locks", {"repo": REPO})[1]["locks"] == [lock]
        assert call(client, "get", "/locks", {"repo": "Codertocat/Other"})[1]["locks"] == []
    table = locks_table(body["locks"])
    assert "PR #7" in table and "#8" in table and KEY.id in table


def test_delete_releases_and_dispatches_the_next_plan(contended: Controller) -> None:
    with Client(app) as client:
        status, body = call(client, "delete", f"/locks/{KEY.id}")
        assert status == 200
        assert body["lock"]["holder_pr"] == 8 and body["lock"]["fencing_token"] == 2
        [dispatched] = body["dispatched"]
        assert contended.backend.jobs[-1].run_id == dispatched
        status, body = call(client, "delete", f"/locks/{KEY.id}")  # releases PR 8 in turn
        assert status == 200 and not body["lock"]["held"] and body["dispatched"] == []
        assert call(client, "get", "/locks")[1]["locks"] == []  # free locks are hidden...
        [free] = call(client, "get", "/locks", {"all": "true"})[1]["locks"]
        assert free["fencing_token"] == 2  # ...but kept, so tokens keep growing
    assert job_runs(contended) == [("terraform-plan", 7), ("terraform-plan", 8)]


@pytest.mark.parametrize(
    "lock_id", [LockKey(repo=REPO, directory="other", workspace="w").id, "not-an-id!"]
)
def test_unknown_or_malformed_ids_are_404(contended: Controller, lock_id: str) -> None:
    with Client(app) as client:
        status, body = call(client, "delete", f"/locks/{lock_id}")
    assert (status, body["error"]["code"]) == (404, "lock_not_found")


@pytest.mark.parametrize(("method", "path"), [("get", "/locks"), ("delete", f"/locks/{KEY.id}")])
def test_token_is_required(contended: Controller, method: str, path: str) -> None:
    with Client(app) as client:
        status, body = call(client, method, path, headers={"Authorization": "Bearer wrong"})
    assert (status, body["error"]["code"]) == (401, "unauthorized")


class _Recorder(BaseHTTPRequestHandler):
    """A loopback stand-in of the API that answers what the CLI needs and records requests."""

    seen: list[tuple[str, str, str | None]] = []
    lock = {
        "id": KEY.id, "repo": REPO, "directory": KEY.directory, "workspace": KEY.workspace,
        "held": True, "holder_pr": 8, "holder_run_id": "run-8", "fencing_token": 2,
        "expires_at": "2027-01-01T00:00:00Z", "expired": False, "waiting": [],
    }  # fmt: skip

    def _answer(self, body: dict) -> None:
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer({"locks": [self.lock]})

    def do_DELETE(self) -> None:
        self._answer({"lock": self.lock, "dispatched": ["run-8"]})

    def log_message(self, *args: object) -> None:
        pass


def test_cli_sends_the_documented_requests(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("MAESTRO_API_URL", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("MAESTRO_API_TOKEN", "cli-token")
        assert main(["locks", "list", "--repo", REPO, "--all"]) == 0
        listed = capsys.readouterr().out
        assert main(["locks", "release", KEY.id]) == 0
        released = capsys.readouterr().out
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.seen == [
        ("GET", "/locks?repo=Codertocat%2FHello-World&all=true", "Bearer cli-token"),
        ("DELETE", f"/locks/{KEY.id}", "Bearer cli-token"),
    ]
    assert KEY.id in listed and "PR #8" in listed
    assert "now held by PR #8" in released
