"""Every ending is visible: a dead apply, the reaper and a plan that waits for a lock.

Through the Chalice handlers on moto, with the lock gate on a settable clock.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from chalice.test import Client

from app import app
from chalicelib.flows.reaper import Reaper
from chalicelib.jobs import DETAIL_HEARTBEAT, DETAIL_RUN_STARTED
from chalicelib.runs.model import Run, RunStatus, utc_now
from chalicelib.runs.query import RunQuery
from tests.functional.conftest import REPO, Controller
from tests.functional.flows.test_runner_events import send
from tests.functional.locks.scenario import (
    Clock,
    close_pr,
    finish,
    install_gate,
    open_pr,
    records,
)


@pytest.fixture
def clock(controller: Controller) -> Clock:
    clock = Clock()
    install_gate(controller, clock)
    return clock


def reap_after(controller: Controller, minutes: int) -> list[Run]:
    services = controller.services
    later = utc_now() + timedelta(minutes=minutes)
    return Reaper(services.store, services.backends, services.endings, now=lambda: later).reap()


def runs_of(controller: Controller, pr: int, pipeline: str) -> list[Run]:
    query = RunQuery(repo=REPO, pr=pr, pipeline=pipeline, limit=10)
    return controller.services.store.query(query).runs


def metrics(output: str) -> list[dict]:
    """The EMF documents powertools printed (one JSON object a line)."""
    documents = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def metric_names(output: str) -> set[str]:
    names = set()
    for document in metrics(output):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            names.update(metric["Name"] for metric in directive["Metrics"])
    return names


def merge_and_start_apply(controller: Controller, client: Client, pr: int) -> Run:
    sha = open_pr(controller, client, pr)
    [plan] = runs_of(controller, pr, "terraform-plan")
    finish(client, plan.id)
    close_pr(controller, client, pr, sha, merged=True)
    [apply] = runs_of(controller, pr, "terraform-apply")
    send(client, DETAIL_RUN_STARTED, {"run_id": apply.id, "sequence": 1, "status": "running"})
    send(client, DETAIL_HEARTBEAT, {"run_id": apply.id, "sequence": 2, "state_serial_before": 4})
    return apply


def end_unknown(controller: Controller, client: Client, apply: Run, how: str) -> Run:
    if how == "reaper":  # the runner went silent
        [ended] = [run for run in reap_after(controller, minutes=11) if run.id == apply.id]
        return ended
    # The runner itself could not tell whether the apply finished.
    finish(client, apply.id, status="unknown")
    return controller.services.store.get(apply.id)


@pytest.mark.parametrize("how", ["reaper", "runner"])
def test_an_apply_that_dies_ends_unknown_visibly_and_keeps_the_lock(
    controller: Controller,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    with Client(app) as client:
        apply = merge_and_start_apply(controller, client, 7)
        capsys.readouterr()
        ended = end_unknown(controller, client, apply, how)
        emitted = metric_names(capsys.readouterr().out)
        assert ended.status == RunStatus.UNKNOWN
        assert {"RunsUnknown", "DeployFailed"} <= emitted

        # The commit status says so, and what to do; it does not stay pending.
        final = [s for s in records(controller, "status") if s["sha"] == apply.sha][-1]
        assert final["state"] == "error" and final["context"] == "maestrops/terraform-apply"
        assert f"maestro runs resolve {apply.id}" in final["description"]
        assert final["pr"] == 7
        # The PR's apply comment tells the author what happened and what to do.
        [comment] = [c for c in records(controller, "comment") if c["thread"] == "terraform-apply"]
        assert (
            "unknown" in comment["body"] and "state serial before the apply: 4" in comment["body"]
        )
        assert f"maestro runs resolve {apply.id} --as succeeded|failed" in comment["body"]

        # The lock stays with PR 7: the next PR's plan waits behind it until someone resolves.
        open_pr(controller, client, 8)
        [waiting] = runs_of(controller, 8, "terraform-plan")
        assert waiting.status == RunStatus.QUEUED and waiting.waiting_for == 7
        response = client.http.post(
            f"/runs/{apply.id}/resolve",
            headers={"Authorization": "Bearer test-token", "Content-Type": "application/json"},
            body=json.dumps({"as": "failed"}),
        )
        assert response.status_code == 200, response.body
        [plan8] = runs_of(controller, 8, "terraform-plan")
        assert plan8.status == RunStatus.DISPATCHED  # the resolve released it
        settled = [s for s in records(controller, "status") if s["sha"] == apply.sha][-1]
        assert settled["state"] == "failure"  # no longer "error": a person settled it


def test_a_plan_waiting_for_a_lock_outlives_any_wait(controller: Controller, clock: Clock) -> None:
    with Client(app) as client:
        open_pr(controller, client, 7)
        open_pr(controller, client, 8)
        [waiting] = runs_of(controller, 8, "terraform-plan")
        a_day_later = reap_after(controller, minutes=24 * 60)
        assert waiting.id not in [run.id for run in a_day_later]
        assert controller.services.store.get(waiting.id).status == RunStatus.QUEUED

        [plan7] = runs_of(controller, 7, "terraform-plan")
        finish(client, plan7.id)
        sha7 = plan7.sha
        close_pr(controller, client, 7, sha7, merged=False)  # the lock passes to PR 8
        dispatched = controller.services.store.get(waiting.id)
        assert dispatched.status == RunStatus.DISPATCHED and dispatched.dispatched_at
        # Its timeout counts from the dispatch, not from when it started waiting.
        assert [r.id for r in reap_after(controller, minutes=5)] == []
        assert waiting.id in [r.id for r in reap_after(controller, minutes=61)]


def test_a_run_the_reaper_times_out_gets_its_status_and_comment(
    controller: Controller, clock: Clock
) -> None:
    with Client(app) as client:
        open_pr(controller, client, 7)
    [plan] = runs_of(controller, 7, "terraform-plan")
    [ended] = [run for run in reap_after(controller, minutes=61) if run.id == plan.id]
    assert ended.status == RunStatus.TIMED_OUT and ended.finished_at
    final = [s for s in records(controller, "status") if s["sha"] == plan.sha][-1]
    assert final["state"] == "failure" and "no result within 60 minutes" in final["description"]
    [comment] = [c for c in records(controller, "comment") if c["thread"] == "terraform-plan"]
    assert "timed_out" in comment["body"] and "no result within 60 minutes" in comment["body"]
    assert reap_after(controller, minutes=120) == []  # ended once: a later pass finds nothing


def test_a_cancelled_run_gets_its_status_and_comment(controller: Controller, clock: Clock) -> None:
    with Client(app) as client:
        open_pr(controller, client, 7)
        [plan] = runs_of(controller, 7, "terraform-plan")
        response = client.http.post(
            f"/runs/{plan.id}/cancel", headers={"Authorization": "Bearer test-token"}
        )
        assert response.status_code == 200, response.body
    final = [s for s in records(controller, "status") if s["sha"] == plan.sha][-1]
    assert final["state"] == "error" and "cancelled" in final["description"]
    [comment] = [c for c in records(controller, "comment") if c["thread"] == "terraform-plan"]
    assert "cancelled" in comment["body"]
