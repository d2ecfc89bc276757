"""Retry is bounded: which runs may be retried, how often, and what a permanent error does."""

from __future__ import annotations

import json

from chalice.test import Client

from app import app
from chalicelib.flows.operations import MAX_RETRIES
from chalicelib.runs.model import Run, RunStatus
from chalicelib.runs.query import RunQuery
from tests.functional.conftest import REPO, Controller

AUTH = {"Authorization": "Bearer test-token", "Content-Type": "application/json"}


def retry(client: Client, run_id: str) -> tuple[int, dict]:
    response = client.http.post(f"/runs/{run_id}/retry", headers=AUTH, body="{}")
    return response.status_code, json.loads(response.body)


def recorded(controller: Controller) -> list[str]:
    return [run.id for run in controller.services.store.query(RunQuery(repo=REPO, limit=100)).runs]


def failed_run(controller: Controller, run_id: str, sha: str, pipeline: str = "ci-application"):
    store = controller.services.store
    store.create(Run(id=run_id, repo=REPO, pipeline=pipeline, sha=sha, run_number=1))
    return store.transition(run_id, RunStatus.FAILED, error="it broke")


def test_a_commit_with_an_invalid_config_is_a_422_and_records_nothing(
    controller: Controller,
) -> None:
    sha = controller.commit({".gitops.yml": "pipelines: [unclosed\n"})
    failed_run(controller, "run-bad-config", sha)
    with Client(app) as client:
        status, body = retry(client, "run-bad-config")
    assert (status, body["error"]["code"]) == (422, "permanent_error")
    assert ".gitops.yml" in body["error"]["message"]
    assert recorded(controller) == ["run-bad-config"]
    assert controller.backend.jobs == []


def test_an_unknown_commit_is_a_422_and_records_nothing(controller: Controller) -> None:
    controller.commit()
    failed_run(controller, "run-gone", "f" * 40, pipeline="terraform-apply")
    with Client(app) as client:
        status, body = retry(client, "run-gone")
    assert (status, body["error"]["code"]) == (422, "permanent_error")
    assert recorded(controller) == ["run-gone"]


def test_each_run_is_retried_once_and_a_second_ask_names_the_retry(
    controller: Controller,
) -> None:
    failed_run(controller, "run-once", controller.commit())
    with Client(app) as client:
        status, first = retry(client, "run-once")
        assert (status, first["retry_of"]) == (201, "run-once")
        status, again = retry(client, "run-once")
    assert (status, again["error"]["code"]) == (409, "already_retried")
    assert first["id"] in again["error"]["message"]
    assert len(recorded(controller)) == 2 and len(controller.backend.jobs) == 1


def test_a_chain_stops_after_its_retries_are_spent(controller: Controller) -> None:
    store = controller.services.store
    current = failed_run(controller, "run-chain", controller.commit()).id
    with Client(app) as client:
        for attempt in range(1, MAX_RETRIES + 1):
            status, body = retry(client, current)
            assert status == 201, (attempt, body)
            current = body["id"]
            store.transition(current, RunStatus.FAILED, error="still broken")
        status, body = retry(client, current)
    assert (status, body["error"]["code"]) == (409, "retry_limit")
    assert len(recorded(controller)) == MAX_RETRIES + 1


def test_only_failed_cancelled_or_timed_out_runs_of_a_pipeline_are_retried(
    controller: Controller,
) -> None:
    sha = controller.commit()
    store = controller.services.store
    store.create(Run(id="run-ok", repo=REPO, pipeline="ci-application", sha=sha, run_number=1))
    store.transition("run-ok", RunStatus.DISPATCHED)
    store.transition("run-ok", RunStatus.SUCCEEDED)
    store.create(Run(id="run-queued", repo=REPO, pipeline="ci-application", sha=sha, run_number=2))
    failed_run(controller, "run-config", sha, pipeline="gitops-config")
    with Client(app) as client:
        for run_id in ("run-ok", "run-queued", "run-config"):
            status, body = retry(client, run_id)
            assert (status, body["error"]["code"]) == (409, "not_retryable"), run_id
        status, body = retry(client, "run-none")
    assert (status, body["error"]["code"]) == (404, "run_not_found")
    assert sorted(recorded(controller)) == ["run-config", "run-ok", "run-queued"]
