"""The live commit status through the EventBridge handler: queued, running (step), the result.

Runner events arrive unordered; a late "step started" must never replace a final status, an
older step never replaces a newer one, and a repeated event costs no second write.
"""

from __future__ import annotations

from chalice.test import Client

from app import app
from chalicelib.flows.runner_events import running_status_due
from chalicelib.jobs import (
    DETAIL_RUN_FINISHED,
    DETAIL_RUN_STARTED,
    DETAIL_STEP_FINISHED,
    DETAIL_STEP_STARTED,
)
from chalicelib.runs.model import Run, RunStatus
from tests.functional.conftest import Controller
from tests.functional.flows.test_runner_events import send, started_run
from tests.payloads import pull_request


def statuses(controller: Controller) -> list[tuple[str, str]]:
    records = controller.outbox_records()
    return [(r["state"], r["description"]) for r in records if r["kind"] == "status"]


def step_started(run_id: str, sequence: int, step: str) -> dict:
    return {"run_id": run_id, "sequence": sequence, "status": "running", "current_step": step}


def step_finished(run_id: str, sequence: int, step: str, kind: str) -> dict:
    result = {"name": step, "kind": kind, "status": "succeeded", "exit_code": 0}
    return {"run_id": run_id, "sequence": sequence, "status": "running", "step": result}


def opened_plan(controller: Controller, client: Client) -> str:
    sha = controller.commit()
    return started_run(
        controller,
        client,
        pull_request("opened", "infra_features", "infra_main", sha=sha),
        "pull_request",
    )


def test_the_status_moves_from_queued_to_each_step_to_the_result(controller: Controller) -> None:
    with Client(app) as client:
        run_id = opened_plan(controller, client)
        send(client, DETAIL_RUN_STARTED, {"run_id": run_id, "sequence": 1, "status": "running"})
        send(client, DETAIL_STEP_STARTED, step_started(run_id, 2, "init"))
        send(client, DETAIL_STEP_STARTED, step_started(run_id, 2, "init"))  # redelivered
        send(client, DETAIL_STEP_FINISHED, step_finished(run_id, 3, "init", "terraform_init"))
        send(client, DETAIL_STEP_STARTED, step_started(run_id, 4, "plan"))
        send(client, DETAIL_STEP_FINISHED, step_finished(run_id, 5, "plan", "terraform_plan"))
        send(client, DETAIL_RUN_FINISHED, {"run_id": run_id, "sequence": 6, "status": "failed"})
    assert statuses(controller) == [
        ("pending", "queued: run #1"),
        ("pending", "terraform-plan: running (init)"),
        ("pending", "terraform-plan: running (plan)"),
        ("failure", statuses(controller)[-1][1]),
    ]
    run = controller.services.store.get(run_id)
    assert (run.live_step, run.live_step_sequence) == ("plan", 4)
    comments = [r for r in controller.outbox_records() if r["kind"] == "comment"]
    assert len(comments) == 1  # the comment, once, at the end


def test_a_late_step_start_never_replaces_the_result(controller: Controller) -> None:
    with Client(app) as client:
        run_id = opened_plan(controller, client)
        send(client, DETAIL_RUN_STARTED, {"run_id": run_id, "sequence": 1, "status": "running"})
        send(client, DETAIL_RUN_FINISHED, {"run_id": run_id, "sequence": 6, "status": "failed"})
        final = statuses(controller)
        assert final[-1][0] == "failure"
        for _ in range(3):  # late, then redelivered: the same state every time
            send(client, DETAIL_STEP_STARTED, step_started(run_id, 4, "plan"))
            send(client, DETAIL_STEP_STARTED, step_started(run_id, 2, "init"))
            assert statuses(controller) == final
    assert controller.services.store.get(run_id).status == RunStatus.FAILED


def test_an_older_step_never_replaces_a_newer_one(controller: Controller) -> None:
    with Client(app) as client:
        run_id = opened_plan(controller, client)
        send(client, DETAIL_STEP_STARTED, step_started(run_id, 4, "plan"))  # before run started
        send(client, DETAIL_RUN_STARTED, {"run_id": run_id, "sequence": 1, "status": "running"})
        for _ in range(3):
            send(client, DETAIL_STEP_STARTED, step_started(run_id, 2, "init"))
        send(client, DETAIL_STEP_FINISHED, step_finished(run_id, 5, "plan", "terraform_plan"))
        send(client, DETAIL_STEP_STARTED, step_started(run_id, 4, "plan"))  # redelivered
        running = statuses(controller)
        assert running == [
            ("pending", "queued: run #1"),
            ("pending", "terraform-plan: running (plan)"),
        ]
        send(client, DETAIL_RUN_FINISHED, {"run_id": run_id, "sequence": 7, "status": "succeeded"})
    run = controller.services.store.get(run_id)
    assert run.status == RunStatus.SUCCEEDED and run.started_at is not None
    assert statuses(controller)[-1][0] == "success"
    assert len(statuses(controller)) == 3


def test_running_status_due_decides_on_the_stored_run_alone() -> None:
    run = Run(id="r", repo="o/r", pipeline="terraform-plan", sha="a" * 40)
    running = run.model_copy(update={"status": RunStatus.RUNNING})
    named = running.model_copy(update={"live_step": "init", "live_step_sequence": 2})
    assert running_status_due(running, "init", 2)
    assert not running_status_due(run, "init", 2)  # queued: the run-started event decides
    assert running_status_due(named, "plan", 4)
    assert not running_status_due(named, "init", 3)  # the same step again
    assert not running_status_due(named, "plan", 1)  # older than the step it named
    finished = named.model_copy(update={"steps": [{"name": "plan", "status": "succeeded"}]})
    assert not running_status_due(finished, "plan", 4)
    for status in (*RunStatus,):
        if status != RunStatus.RUNNING:
            ended = named.model_copy(update={"status": status})
            assert not running_status_due(ended, "plan", 9), status
