from __future__ import annotations

import json

from chalice.test import Client
from openapi_core.testing import MockRequest, MockResponse

from app import app
from chalicelib.jobs import DETAIL_RUN_FINISHED
from chalicelib.runs.model import RunStatus
from tests.functional.conftest import Controller
from tests.functional.flows.test_dispatch import deliver
from tests.functional.flows.test_runner_events import send
from tests.functional.test_runs_api import AUTH, SPEC
from tests.payloads import push


def post(client: Client, path: str, body: dict | None = None):
    headers = {**AUTH, "Content-Type": "application/json"}
    raw = json.dumps(body or {})
    response = client.http.post(path, headers=headers, body=raw)
    SPEC.validate_response(
        MockRequest("http://127.0.0.1:8000", "post", path, headers=headers, data=raw.encode()),
        MockResponse(
            response.body, status_code=response.status_code, content_type="application/json"
        ),
    )
    return response.status_code, json.loads(response.body)


def test_retry_creates_a_linked_run_and_refuses_active_ones(controller: Controller) -> None:
    sha = controller.commit()
    with Client(app) as client:
        deliver(controller, client, "push", push("infra_features", sha), "d-1")
        [job] = controller.backend.jobs
        status, body = post(client, f"/runs/{job.run_id}/retry")
        assert (status, body["error"]["code"]) == (409, "not_retryable")
        send(client, DETAIL_RUN_FINISHED, {"run_id": job.run_id, "sequence": 2, "status": "failed"})
        status, retried = post(client, f"/runs/{job.run_id}/retry")
    assert status == 201
    assert retried["retry_of"] == job.run_id and retried["status"] == "dispatched"
    assert retried["run_number"] == 2 and retried["sha"] == sha
    assert controller.backend.jobs[1].run_id == retried["id"]


def test_cancel_stops_the_runner_and_is_final(controller: Controller) -> None:
    sha = controller.commit()
    with Client(app) as client:
        deliver(controller, client, "push", push("infra_features", sha), "d-1")
        [job] = controller.backend.jobs
        status, body = post(client, f"/runs/{job.run_id}/cancel")
        assert (status, body["status"]) == (200, "cancelled")
        assert controller.backend.cancelled == [job.run_id]
        status, body = post(client, f"/runs/{job.run_id}/cancel")
        assert (status, body["error"]["code"]) == (409, "transition_conflict")
        send(
            client,
            DETAIL_RUN_FINISHED,
            {"run_id": job.run_id, "sequence": 5, "status": "succeeded"},
        )
    assert controller.services.store.get(job.run_id).status == RunStatus.CANCELLED


def test_resolve_settles_only_unknown_runs(controller: Controller) -> None:
    sha = controller.commit()
    with Client(app) as client:
        deliver(controller, client, "push", push("infra_features", sha), "d-1")
        [job] = controller.backend.jobs
        status, body = post(client, f"/runs/{job.run_id}/resolve", {"as": "succeeded"})
        assert (status, body["error"]["code"]) == (409, "transition_conflict")
        send(
            client, DETAIL_RUN_FINISHED, {"run_id": job.run_id, "sequence": 5, "status": "unknown"}
        )
        status, body = post(client, f"/runs/{job.run_id}/resolve", {"as": "failed"})
    assert (status, body["status"]) == (200, "failed")
    assert body["resolution"].startswith("resolved as failed")
