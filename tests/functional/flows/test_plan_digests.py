"""The controller pins a reviewed plan at its finish, and the apply's job carries the pin."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlparse

from chalice.test import Client

from app import app
from chalicelib.jobs import DETAIL_RUN_FINISHED, JobSpec
from chalicelib.plans.digests import APPLY_PARAM, UNREADABLE
from tests.functional.conftest import Controller
from tests.functional.flows.test_dispatch import deliver
from tests.functional.flows.test_runner_events import send
from tests.payloads import pull_request


def _write_plan(job: JobSpec, plan: bytes, plan_json: bytes) -> dict[str, str]:
    """What the runner's plan step leaves under the run's prefix, and the URIs it reports."""
    folder = Path(urlparse(job.artifact_prefix).path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.tfplan").write_bytes(plan)
    (folder / "plan.json").write_bytes(plan_json)
    return {
        "plan": job.artifact_prefix + "plan.tfplan",
        "plan_json": job.artifact_prefix + "plan.json",
    }


def _apply_step(job: JobSpec) -> dict:
    [step] = [s for s in job.steps if s.kind == "terraform_apply"]
    return step.params


def test_digests_recorded_at_the_plan_finish_reach_the_apply_job(controller: Controller) -> None:
    store = controller.services.store
    sha = controller.commit()
    opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
    merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
    reviewed, reviewed_json = b"reviewed plan", b'{"format_version": "0.2"}'
    with Client(app) as client:
        deliver(controller, client, "pull_request", opened, "d-open")
        plan_job = controller.backend.jobs[-1]
        artifacts = _write_plan(plan_job, reviewed, reviewed_json)
        finished = {"run_id": plan_job.run_id, "sequence": 5, "status": "succeeded"}
        send(client, DETAIL_RUN_FINISHED, {**finished, "artifacts": artifacts})
        expected = {
            "plan": hashlib.sha256(reviewed).hexdigest(),
            "plan_json": hashlib.sha256(reviewed_json).hexdigest(),
        }
        assert store.get(plan_job.run_id).plan_digests == expected

        # Another PR's plan run overwrites the reviewed files, then the finish comes again
        # (twice): the record keeps what was read at the finish.
        _write_plan(plan_job, b"swapped plan", b'{"swapped": true}')
        send(client, DETAIL_RUN_FINISHED, {**finished, "artifacts": artifacts})
        send(client, DETAIL_RUN_FINISHED, {**finished, "artifacts": artifacts})
        assert store.get(plan_job.run_id).plan_digests == expected
        shown = client.http.get(
            f"/runs/{plan_job.run_id}", headers={"Authorization": "Bearer test-token"}
        )
        assert shown.status_code == 200 and "plan_digests" not in shown.json_body

        deliver(controller, client, "pull_request", merged, "d-merge")
    apply_job = controller.backend.jobs[-1]
    assert apply_job.pipeline.value == "terraform-apply"
    assert apply_job.previous_run_id == plan_job.run_id
    assert _apply_step(apply_job)[APPLY_PARAM] == expected["plan"]


def test_a_named_plan_the_controller_cannot_read_pins_nothing_that_matches(
    controller: Controller,
) -> None:
    """Deleting the plan before the finish must not turn the check off for its apply."""
    store = controller.services.store
    sha = controller.commit()
    opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
    merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
    with Client(app) as client:
        deliver(controller, client, "pull_request", opened, "d-open")
        plan_job = controller.backend.jobs[-1]
        artifacts = _write_plan(plan_job, b"plan", b"{}")
        Path(urlparse(artifacts["plan"]).path).unlink()
        finished = {"run_id": plan_job.run_id, "sequence": 5, "status": "succeeded"}
        send(client, DETAIL_RUN_FINISHED, {**finished, "artifacts": artifacts})
        assert store.get(plan_job.run_id).plan_digests["plan"] == UNREADABLE
        deliver(controller, client, "pull_request", merged, "d-merge")
    assert _apply_step(controller.backend.jobs[-1])[APPLY_PARAM] == UNREADABLE


def test_a_plan_recorded_without_digests_applies_as_before(controller: Controller) -> None:
    sha = controller.commit()
    opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
    merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
    with Client(app) as client:
        deliver(controller, client, "pull_request", opened, "d-open")
        plan_id = controller.backend.jobs[-1].run_id
        send(client, DETAIL_RUN_FINISHED, {"run_id": plan_id, "sequence": 5, "status": "succeeded"})
        assert controller.services.store.get(plan_id).plan_digests == {}
        deliver(controller, client, "pull_request", merged, "d-merge")
    assert APPLY_PARAM not in _apply_step(controller.backend.jobs[-1])
