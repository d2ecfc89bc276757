from __future__ import annotations

from datetime import timedelta

from chalice.test import Client

from app import app
from chalicelib.flows.reaper import Reaper
from chalicelib.jobs import (
    DETAIL_HEARTBEAT,
    DETAIL_RUN_FINISHED,
    DETAIL_RUN_STARTED,
    DETAIL_STEP_FINISHED,
)
from chalicelib.runs.model import Run, RunStatus, utc_now
from chalicelib.runs.query import RunQuery
from tests.functional.conftest import Controller
from tests.functional.flows.test_dispatch import deliver
from tests.payloads import pull_request, push


def send(client: Client, detail_type: str, detail: dict) -> None:
    event = client.events.generate_cw_event(
        source="maestrops.runner", detail_type=detail_type, detail=detail, resources=[]
    )
    client.lambda_.invoke("on_runner_event", event)


def started_run(controller: Controller, client: Client, payload: dict, event: str) -> str:
    deliver(controller, client, event, payload, "d-start")
    [job] = controller.backend.jobs
    return job.run_id


def test_started_then_finished_with_artifacts(controller: Controller) -> None:
    sha = controller.commit()
    store = controller.services.store
    with Client(app) as client:
        run_id = started_run(controller, client, push("infra_features", sha), "push")
        send(client, DETAIL_RUN_STARTED, {"run_id": run_id, "sequence": 1, "status": "running"})
        assert store.get(run_id).status == RunStatus.RUNNING
        send(client, DETAIL_HEARTBEAT, {"run_id": run_id, "sequence": 2})
        assert store.get(run_id).heartbeat_at is not None
        step = {"name": "fmt", "kind": "terraform_fmt", "status": "succeeded", "exit_code": 0}
        step["artifacts"] = {"fmt.log": "s3://b/runs/x/fmt.log"}
        send(client, DETAIL_STEP_FINISHED, {"run_id": run_id, "sequence": 3, "step": step})
        send(client, DETAIL_RUN_FINISHED, {"run_id": run_id, "sequence": 4, "status": "succeeded"})
    run = store.get(run_id)
    assert run.status == RunStatus.SUCCEEDED and run.finished_at
    assert run.artifacts == {"fmt.log": "s3://b/runs/x/fmt.log"}
    statuses = [r for r in controller.outbox_records() if r["kind"] == "status"]
    assert [s["state"] for s in statuses] == ["pending", "success"]


def test_late_and_duplicate_events_never_move_a_run_backwards(controller: Controller) -> None:
    sha = controller.commit()
    store = controller.services.store
    with Client(app) as client:
        run_id = started_run(controller, client, push("infra_features", sha), "push")
        finished = {"run_id": run_id, "sequence": 5, "status": "failed", "failed_step": "fmt"}
        finished["step"] = {
            "name": "fmt", "kind": "terraform_fmt", "status": "failed", "exit_code": 3,
            "log_tail": "main.tf", "reason": "files need formatting",
        }  # fmt: skip
        send(client, DETAIL_RUN_FINISHED, finished)
        send(client, DETAIL_RUN_STARTED, {"run_id": run_id, "sequence": 1, "status": "running"})
        send(client, DETAIL_RUN_FINISHED, {**finished, "status": "succeeded"})
    run = store.get(run_id)
    assert run.status == RunStatus.FAILED and run.failed_step == "fmt"
    assert "files need formatting" in (run.error or "") and "main.tf" in (run.error or "")


def test_successful_apply_chains_monitoring_and_comments_on_the_pr(controller: Controller) -> None:
    sha = controller.commit()
    store = controller.services.store
    opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
    merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
    with Client(app) as client:
        plan_id = started_run(controller, client, opened, "pull_request")
        send(client, DETAIL_RUN_FINISHED, {"run_id": plan_id, "sequence": 3, "status": "succeeded"})
        deliver(controller, client, "pull_request", merged, "d-merge")
        apply_job = controller.backend.jobs[1]
        assert apply_job.previous_run_id == plan_id  # the reviewed plan is what gets applied
        finished = {"run_id": apply_job.run_id, "sequence": 9, "status": "succeeded"}
        send(client, DETAIL_RUN_FINISHED, finished)
        send(client, DETAIL_RUN_FINISHED, finished)  # a duplicate chains nothing more
    pipelines = [job.pipeline.value for job in controller.backend.jobs]
    assert pipelines == ["terraform-plan", "terraform-apply", "ansible-monitoring"]
    chained = store.get(controller.backend.jobs[2].run_id)
    assert chained.status == RunStatus.DISPATCHED and chained.pr == 7
    threads = {r["thread"] for r in controller.outbox_records() if r["kind"] == "comment"}
    assert {"terraform-plan", "terraform-apply"} <= threads


def test_merge_without_a_successful_plan_refuses_to_apply(controller: Controller) -> None:
    sha = controller.commit()
    merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
    with Client(app) as client:
        deliver(controller, client, "pull_request", merged, "d-merge")
    [run] = controller.services.store.query(RunQuery()).runs
    assert run.pipeline == "terraform-apply" and run.status == RunStatus.FAILED
    assert "no successful terraform-plan" in (run.error or "") and "re-plan" in (run.error or "")
    assert controller.backend.jobs == []


def test_failure_comment_names_the_step_and_shows_the_log_tail(controller: Controller) -> None:
    sha = controller.commit()
    opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
    with Client(app) as client:
        run_id = started_run(controller, client, opened, "pull_request")
        step = {"name": "plan", "kind": "terraform_plan", "status": "failed", "exit_code": 1}
        step.update(reason="terraform plan exited 1", log_tail="Error: Unsupported argument")
        event = {"run_id": run_id, "sequence": 4, "status": "failed", "failed_step": "plan"}
        send(client, DETAIL_RUN_FINISHED, {**event, "step": step})
    [comment] = [r for r in controller.outbox_records() if r["kind"] == "comment"]
    assert "Failed step: **plan**" in comment["body"]
    assert "Error: Unsupported argument" in comment["body"]
    statuses = [r for r in controller.outbox_records() if r["kind"] == "status"]
    assert statuses[-1]["state"] == "failure" and "plan" in statuses[-1]["description"]


def reap(controller: Controller, minutes: int) -> list[Run]:
    """One reaper pass as if ``minutes`` had gone by."""
    services = controller.services
    later = utc_now() + timedelta(minutes=minutes)
    return Reaper(services.store, services.backends, services.endings, now=lambda: later).reap()


def test_reaper_times_out_overdue_runs_only(controller: Controller) -> None:
    sha = controller.commit()
    store = controller.services.store
    with Client(app) as client:
        run_id = started_run(controller, client, push("infra_features", sha), "push")
    assert reap(controller, minutes=5) == []
    [reaped] = reap(controller, minutes=61)
    assert reaped.id == run_id and store.get(run_id).status == RunStatus.TIMED_OUT
    assert controller.backend.cancelled == [run_id]


def _running_apply(controller: Controller, client: Client) -> str:
    sha = controller.commit()
    opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
    merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
    plan_id = started_run(controller, client, opened, "pull_request")
    send(client, DETAIL_RUN_FINISHED, {"run_id": plan_id, "sequence": 3, "status": "succeeded"})
    deliver(controller, client, "pull_request", merged, "d-merge")
    apply_id = controller.backend.jobs[1].run_id
    send(client, DETAIL_RUN_STARTED, {"run_id": apply_id, "sequence": 1, "status": "running"})
    heartbeat = {"run_id": apply_id, "sequence": 2, "state_serial_before": 7}
    send(client, DETAIL_HEARTBEAT, heartbeat)
    return apply_id


def test_apply_whose_runner_dies_becomes_unknown_with_its_state_serial(
    controller: Controller,
) -> None:
    store = controller.services.store
    with Client(app) as client:
        apply_id = _running_apply(controller, client)
        died = {
            "build-status": "FAILED",
            "build-id": "maestrops-runner:1",
            "additional-information": {
                "environment": {
                    "environment-variables": [{"name": "MAESTRO_RUN_ID", "value": apply_id}]
                }
            },
        }
        event = client.events.generate_cw_event(
            source="aws.codebuild",
            detail_type="CodeBuild Build State Change",
            detail=died,
            resources=[],
        )
        client.lambda_.invoke("on_runner_event", event)
    run = store.get(apply_id)
    assert run.status == RunStatus.UNKNOWN and run.state_serial_before == 7
    assert "state serial before the apply: 7" in (run.error or "")
    assert f"maestro runs resolve {apply_id}" in (run.error or "")


def test_silent_apply_is_reaped_as_unknown_not_timed_out(controller: Controller) -> None:
    with Client(app) as client:
        apply_id = _running_apply(controller, client)
    [reaped] = [r for r in reap(controller, minutes=11) if r.id == apply_id]
    assert reaped.status == RunStatus.UNKNOWN


def test_service_event_after_the_runner_reported_changes_nothing(controller: Controller) -> None:
    sha = controller.commit()
    store = controller.services.store
    with Client(app) as client:
        run_id = started_run(controller, client, push("infra_features", sha), "push")
        send(client, DETAIL_RUN_FINISHED, {"run_id": run_id, "sequence": 4, "status": "succeeded"})
        stopped = {
            "lastStatus": "STOPPED",
            "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/c/abc",
            "startedBy": f"maestrops/{run_id}",
            "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "runner", "exitCode": 1, "lastStatus": "STOPPED"}],
        }
        event = client.events.generate_cw_event(
            source="aws.ecs", detail_type="ECS Task State Change", detail=stopped, resources=[]
        )
        client.lambda_.invoke("on_runner_event", event)
    assert store.get(run_id).status == RunStatus.SUCCEEDED
