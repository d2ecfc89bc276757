"""Two PRs on one workspace, through the Chalice handlers on moto."""

from __future__ import annotations

import pytest
from chalice.test import Client

from app import app
from chalicelib.githost.base import PullRequestHead
from chalicelib.locks.lease import LockKey
from chalicelib.pipelines.config import GitOpsConfig
from chalicelib.runs.model import Run, RunStatus, isoformat, utc_now
from chalicelib.runs.query import RunQuery
from tests.functional.conftest import REPO, Controller
from tests.functional.locks.scenario import (
    HOUR,
    Clock,
    close_pr,
    finish,
    install_gate,
    job_runs,
    open_pr,
    records,
    run_item,
    sweep,
)

KEY = LockKey(repo=REPO, directory="terraform/infra", workspace="default")


@pytest.fixture
def clock(controller: Controller) -> Clock:
    clock = Clock()
    install_gate(controller, clock)
    return clock


def plan_runs(controller: Controller, pr: int):
    query = RunQuery(repo=REPO, pr=pr, pipeline="terraform-plan", limit=10)
    return controller.services.store.query(query).runs


def test_second_pr_waits_with_a_pending_status_and_a_comment(
    controller: Controller, clock: Clock
) -> None:
    table = controller.services.settings.table
    with Client(app) as client:
        open_pr(controller, client, 7)
        sha8 = open_pr(controller, client, 8)
    assert job_runs(controller) == [("terraform-plan", 7)]
    [waiting] = plan_runs(controller, 8)
    assert waiting.status == RunStatus.QUEUED
    item = run_item(waiting.id, table)
    assert item["waiting_for"] == 7 and item["waiting_for_lock"] == KEY.id
    status = [s for s in records(controller, "status") if s["sha"] == sha8][-1]
    assert status["state"] == "pending" and status["description"].startswith("waiting for PR #7")
    [comment] = [c for c in records(controller, "comment") if c["pr"] == 8]
    assert comment["thread"] == "terraform-plan"
    assert "locked by PR #7" in comment["body"]
    assert f"maestro locks release {KEY.id}" in comment["body"]
    assert "`maestro unlock` on #7" in comment["body"]
    lease = controller.services.locks.leases.get(KEY)
    assert lease.holder.pr == 7 and [w.pr for w in lease.waiters] == [8]


def test_closing_the_holder_dispatches_the_oldest_waiter(
    controller: Controller, clock: Clock
) -> None:
    with Client(app) as client:
        sha7 = open_pr(controller, client, 7)
        open_pr(controller, client, 8)
        open_pr(controller, client, 9)
        close_pr(controller, client, 7, sha7, merged=False)
    assert job_runs(controller) == [("terraform-plan", 7), ("terraform-plan", 8)]
    lease = controller.services.locks.leases.get(KEY)
    assert (
        lease.holder.pr == 8 and lease.fencing_token == 2 and [w.pr for w in lease.waiters] == [9]
    )
    [run8] = plan_runs(controller, 8)
    assert run8.status == RunStatus.DISPATCHED
    assert run_item(run8.id, controller.services.settings.table)["fencing_token"] == 2


def test_merged_holder_keeps_the_lock_until_its_apply_ends(
    controller: Controller, clock: Clock
) -> None:
    with Client(app) as client:
        sha7 = open_pr(controller, client, 7)
        finish(client, controller.backend.jobs[0].run_id)
        open_pr(controller, client, 8)
        close_pr(controller, client, 7, sha7, merged=True)
        apply_job = controller.backend.jobs[1]
        assert apply_job.pipeline.value == "terraform-apply"
        assert apply_job.parameters["fencing_token"] == "1"
        assert controller.services.locks.leases.get(KEY).holder.pr == 7  # apply still runs
        finish(client, apply_job.run_id)
    assert job_runs(controller) == [
        ("terraform-plan", 7), ("terraform-apply", 7), ("terraform-plan", 8),
        ("ansible-monitoring", 7),
    ]  # fmt: skip
    assert controller.services.locks.leases.get(KEY).holder.pr == 8


def test_an_apply_whose_pr_lost_the_lease_is_refused(controller: Controller, clock: Clock) -> None:
    with Client(app) as client:
        sha7 = open_pr(controller, client, 7)
        finish(client, controller.backend.jobs[0].run_id)
        open_pr(controller, client, 8)
        clock.now += HOUR + 1  # PR 7 let its lease run out; the sweep hands it to PR 8
        sweep(client)
        close_pr(controller, client, 7, sha7, merged=True)
    assert job_runs(controller) == [("terraform-plan", 7), ("terraform-plan", 8)]
    query = RunQuery(repo=REPO, pr=7, pipeline="terraform-apply", limit=10)
    [apply_run] = controller.services.store.query(query).runs
    assert apply_run.status == RunStatus.FAILED
    assert "apply refused" in apply_run.error and "held by PR #8" in apply_run.error
    failure = [s for s in records(controller, "status") if s["context"].endswith("apply")][-1]
    assert failure["state"] == "failure"


def test_sweep_expires_leases_and_dispatches_the_next_plan(
    controller: Controller, clock: Clock
) -> None:
    with Client(app) as client:
        open_pr(controller, client, 7)
        open_pr(controller, client, 8)
        sweep(client)  # nothing expired yet
        assert len(controller.backend.jobs) == 1
        clock.now += HOUR + 1
        sweep(client)
        sweep(client)  # a second pass finds nothing more to do
    assert job_runs(controller) == [("terraform-plan", 7), ("terraform-plan", 8)]
    lease = controller.services.locks.leases.get(KEY)
    assert lease.holder.pr == 8 and lease.fencing_token == 2


def test_a_superseded_waiter_is_skipped_when_the_lock_frees(
    controller: Controller, clock: Clock
) -> None:
    with Client(app) as client:
        sha7 = open_pr(controller, client, 7)
        open_pr(controller, client, 8)
        open_pr(controller, client, 9)
        open_pr(controller, client, 8, action="synchronize")  # PR 8's older plan is superseded
        close_pr(controller, client, 7, sha7, merged=False)
    runs8 = plan_runs(controller, 8)
    assert {r.status for r in runs8} == {RunStatus.DISPATCHED, RunStatus.SUPERSEDED}
    assert job_runs(controller) == [("terraform-plan", 7), ("terraform-plan", 8)]
    dispatched = next(r for r in runs8 if r.status == RunStatus.DISPATCHED)
    assert controller.backend.jobs[1].run_id == dispatched.id  # the newest plan of PR 8


def test_sweep_dispatches_a_holder_left_queued_by_a_crash(
    controller: Controller, clock: Clock
) -> None:
    sha = controller.commit()
    created = isoformat(utc_now())
    run = Run(id="run-crashed", repo=REPO, pipeline="terraform-plan", sha=sha, pr=7,
              branch="infra_features", base_branch="infra_main", run_number=1,
              created_at=created, backend="recording")  # fmt: skip
    controller.services.store.create(run)
    clock.now = utc_now().timestamp() + 60  # granted, then the dispatcher died
    admission = controller.services.locks.admit(run, GitOpsConfig(), None)
    assert admission.go and controller.backend.jobs == []
    with Client(app) as client:
        sweep(client)  # one minute on: it may still be on its way
        assert controller.backend.jobs == []
        clock.now += 300
        sweep(client)
    [job] = controller.backend.jobs
    assert job.run_id == "run-crashed"
    assert controller.services.store.get("run-crashed").status == RunStatus.DISPATCHED


def test_closing_a_waiting_pr_cancels_its_plan_and_leaves_the_queue(
    controller: Controller, clock: Clock
) -> None:
    with Client(app) as client:
        open_pr(controller, client, 7)
        sha8 = open_pr(controller, client, 8)
        close_pr(controller, client, 8, sha8, merged=False)
    [run8] = plan_runs(controller, 8)
    assert run8.status == RunStatus.CANCELLED and run8.error == "PR #8 ended"
    lease = controller.services.locks.leases.get(KEY)
    assert lease.holder.pr == 7 and lease.waiters == []


@pytest.mark.parametrize(
    ("status", "released"), [("closed", True), ("merged", False), ("open", False)]
)
def test_sweep_releases_the_lease_of_a_pr_closed_while_the_webhook_was_lost(
    controller: Controller, clock: Clock, status: str, released: bool
) -> None:
    with Client(app) as client:
        sha7 = open_pr(controller, client, 7)
        open_pr(controller, client, 8)
        head = PullRequestHead(sha7, "infra_features", "infra_main")
        controller.services.githost.record_pull_request(REPO, 7, head, status=status)
        sweep(client)
    holder = controller.services.locks.leases.get(KEY).holder
    assert holder.pr == (8 if released else 7)
    assert len(controller.backend.jobs) == (2 if released else 1)
