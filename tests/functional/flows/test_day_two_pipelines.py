"""Pipelines do what ``.gitops.yml`` says, and a run that did nothing says so (handlers on moto)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.jobs import DETAIL_RUN_FINISHED, DETAIL_STEP_FINISHED
from chalicelib.runs.model import RunStatus
from chalicelib.runs.query import RunQuery
from tests.functional.conftest import REPO, Controller
from tests.functional.flows.test_dispatch import deliver
from tests.functional.flows.test_runner_events import send
from tests.payloads import pull_request

EXAMPLES = Path(__file__).resolve().parents[3] / "node_modules" / "@octokit" / "webhooks-examples"
MONITORING_OFF = "pipelines:\n  ansible-monitoring:\n    enabled: false\n"


def _plan_merge_apply(controller: Controller, client: Client, sha: str) -> str:
    """PR opened → plan succeeds → merged → apply succeeds; returns the apply's run id."""
    opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
    merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
    deliver(controller, client, "pull_request", opened, "d-open")
    plan_id = controller.backend.jobs[-1].run_id
    send(client, DETAIL_RUN_FINISHED, {"run_id": plan_id, "sequence": 3, "status": "succeeded"})
    deliver(controller, client, "pull_request", merged, "d-merge")
    apply_job = controller.backend.jobs[-1]
    assert apply_job.pipeline.value == "terraform-apply"
    finished = {"run_id": apply_job.run_id, "sequence": 9, "status": "succeeded"}
    send(client, DETAIL_RUN_FINISHED, finished)
    return apply_job.run_id


def test_disabled_monitoring_is_not_chained_after_a_successful_apply(controller: Controller):
    sha = controller.commit({".gitops.yml": MONITORING_OFF})
    with Client(app) as client:
        apply_id = _plan_merge_apply(controller, client, sha)
    pipelines = [job.pipeline.value for job in controller.backend.jobs]
    assert pipelines == ["terraform-plan", "terraform-apply"]
    assert controller.services.store.get(apply_id).status == RunStatus.SUCCEEDED
    # Nothing in the apply needs an inventory when monitoring is off.
    assert [s.name for s in controller.backend.jobs[1].steps] == ["init", "apply", "output"]
    runs = controller.services.store.query(RunQuery(pipeline="ansible-monitoring")).runs
    assert runs == []


def test_enabled_monitoring_is_chained_by_the_same_path(controller: Controller):
    """The control case of the test above: same flow, the default config."""
    sha = controller.commit({".gitops.yml": "pipelines: {ansible-monitoring: {enabled: true}}\n"})
    with Client(app) as client:
        _plan_merge_apply(controller, client, sha)
    pipelines = [job.pipeline.value for job in controller.backend.jobs]
    assert pipelines == ["terraform-plan", "terraform-apply", "ansible-monitoring"]


def _deletion_payload(ref: str) -> dict:
    """GitHub's own push of a deleted ref (octokit example), on a branch of our repository."""
    index = EXAMPLES / "api.github.com" / "index.json"
    if not index.is_file():
        pytest.fail("@octokit/webhooks-examples is not installed: run `make setup`")
    events = json.loads(index.read_text())
    pushes = [e for event in events if event["name"] == "push" for e in event["examples"]]
    payload = next(p for p in pushes if p["deleted"])
    payload["ref"] = ref
    payload["repository"]["full_name"] = REPO
    return payload


@pytest.mark.parametrize("ref", ["refs/heads/infra_features", "refs/heads/integration"])
def test_a_branch_deletion_starts_nothing_and_posts_nothing(controller: Controller, ref: str):
    controller.commit()
    payload = _deletion_payload(ref)
    assert payload["after"] == "0" * 40 and payload["head_commit"] is None
    with Client(app) as client:
        result = deliver(controller, client, "push", payload, "d-delete")
        deliver(controller, client, "push", payload, "d-delete-again")
    assert result == {"batchItemFailures": []}
    assert controller.services.store.query(RunQuery()).runs == []
    assert controller.outbox_records() == []  # no status on 000…0, no comment
    assert controller.backend.jobs == []


def test_a_deploy_that_did_nothing_is_recorded_as_nothing_done(controller: Controller):
    sha = controller.commit()
    merged = pull_request("closed", "integration", "deployment", sha=sha, merged=True)
    with Client(app) as client:
        deliver(controller, client, "pull_request", merged, "d-deploy")
        [job] = controller.backend.jobs
        why = "no container engine: docker is not installed on this machine"
        step = {"name": "deploy", "kind": "compose_deploy", "status": "skipped", "reason": why}
        send(client, DETAIL_STEP_FINISHED, {"run_id": job.run_id, "sequence": 2, "step": step})
        finished = {
            "run_id": job.run_id,
            "sequence": 3,
            "status": "succeeded",
            "outcome": "nothing-done",
            "outcome_reason": f"deploy skipped: {why}",
        }
        send(client, DETAIL_RUN_FINISHED, finished)
        response = client.http.get(
            f"/runs/{job.run_id}", headers={"Authorization": "Bearer test-token"}
        )
    run = controller.services.store.get(job.run_id)
    assert run.status == RunStatus.SUCCEEDED
    assert run.outcome == "nothing-done" and run.outcome_reason == f"deploy skipped: {why}"
    assert run.steps[0]["status"] == "skipped" and run.steps[0]["reason"] == why
    body = json.loads(response.body)
    assert body["outcome"] == "nothing-done" and body["outcome_reason"].endswith(why)
    # The status and the comment say it did nothing, never a bare "succeeded" with ✅.
    records = controller.outbox_records()
    [status] = [r for r in records if r["kind"] == "status" and r["state"] != "pending"]
    assert status["description"].startswith(f"run #{run.run_number} did nothing: deploy skipped")
    [comment] = [r for r in records if r["kind"] == "comment"]
    headline = f"⏭️ cd-application run #{run.run_number} did nothing: deploy skipped: {why}"
    assert headline in comment["body"] and "✅" not in comment["body"]
