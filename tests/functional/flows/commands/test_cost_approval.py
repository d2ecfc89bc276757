"""`maestro approve-cost`: an approval names the finished, blocked plan it lifts, and nothing else.

Through the webhook, the queue, the dispatcher and the runner-event handler, on moto.
"""

from __future__ import annotations

import json

import boto3
from chalice.test import Client

from app import app
from chalicelib.costs import CostConfig, estimate_plan, evaluate_policy
from chalicelib.jobs import DETAIL_RUN_FINISHED
from chalicelib.runs.model import Run, RunStatus
from chalicelib.runs.query import RunQuery
from chalicelib.runs.rules import approval_mark, cost_blocked
from tests.functional.conftest import Controller
from tests.functional.flows.commands.test_comment_commands import (
    answers,
    comment,
    reactions,
    record_head,
)
from tests.functional.flows.test_dispatch import deliver
from tests.functional.flows.test_runner_events import send
from tests.functional.test_cost_policy import GITOPS, plan_with_blocking_cost
from tests.functional.test_costs_api import PLAN
from tests.payloads import pull_request


def finish_blocked(controller: Controller, client: Client, run_id: str) -> None:
    """Finish plan ``run_id`` with the cost step's artifacts: $7.30 against a $1 block."""
    job = next(job for job in controller.backend.jobs if job.run_id == run_id)
    policy = CostConfig.model_validate(job.steps[2].params["policy"]).policy
    report = estimate_plan(json.loads(PLAN.read_text()))
    artifacts = {}
    for name, body in (
        ("cost_report", report.model_dump_json()),
        ("cost_policy", evaluate_policy(report, policy).model_dump_json()),
    ):
        key = f"runs/{run_id}/{name}.json"
        boto3.client("s3").put_object(Bucket="maestrops-artifacts", Key=key, Body=body)
        artifacts[name] = f"s3://maestrops-artifacts/{key}"
    finished = {"run_id": run_id, "sequence": 3, "status": "succeeded", "artifacts": artifacts}
    send(client, DETAIL_RUN_FINISHED, finished)


def merge(controller: Controller, client: Client, sha: str) -> Run:
    merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
    deliver(controller, client, "pull_request", merged, f"d-merge-{sha[:8]}")
    [apply_run] = controller.services.store.query(RunQuery(pipeline="terraform-apply")).runs
    return apply_run


def test_an_approval_sent_while_the_plan_runs_is_refused_and_lifts_nothing(
    controller: Controller,
) -> None:
    store = controller.services.store
    with Client(app) as client:
        sha = controller.commit({".gitops.yml": GITOPS})
        opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
        deliver(controller, client, "pull_request", opened, "d-open")
        plan_id = controller.backend.jobs[-1].run_id
        record_head(controller, 7, sha)
        comment(controller, client, 7, "maestro approve-cost", user="lead")  # too early
        [answer] = answers(controller, 7)
        assert "is dispatched: a cost can be approved only once its plan has finished" in answer
        assert reactions(controller) == [(1001, "confused")]
        assert store.get(plan_id).approved_by is None
        finish_blocked(controller, client, plan_id)  # then the plan ends with a block verdict
        apply_run = merge(controller, client, sha)
    assert store.get(plan_id).cost["verdict"] == "block"
    assert apply_run.status == RunStatus.FAILED and "cost policy blocks" in (apply_run.error or "")


def test_an_approval_of_the_finished_blocked_plan_names_it_and_lets_its_apply_run(
    controller: Controller,
) -> None:
    store = controller.services.store
    with Client(app) as client:
        sha, plan_id = plan_with_blocking_cost(controller, client)
        record_head(controller, 7, sha)
        comment(controller, client, 7, "maestro approve-cost budgeted", user="lead")
        apply_run = merge(controller, client, sha)
    plan = store.get(plan_id)
    assert plan.approved_by == "lead" and plan.approved_for == f"{plan_id} {sha} block"
    assert reactions(controller) == [(1001, "eyes")]
    status = [r for r in controller.outbox_records() if r["kind"] == "status"][-2]
    assert status["state"] == "success" and "cost approved by @lead" in status["description"]
    assert apply_run.status == RunStatus.DISPATCHED and apply_run.plan_run_id == plan_id


def test_a_new_plan_of_the_pr_voids_the_approval(controller: Controller) -> None:
    store = controller.services.store
    with Client(app) as client:
        sha, plan_id = plan_with_blocking_cost(controller, client)
        record_head(controller, 7, sha)
        comment(controller, client, 7, "maestro approve-cost", user="lead")
        comment(controller, client, 7, "maestro plan", comment_id=1002)  # a new plan, same sha
        newer = controller.backend.jobs[-1].run_id
        assert newer != plan_id
        apply_run = merge(controller, client, sha)
        assert apply_run.plan_run_id == plan_id  # the newer plan has not succeeded
        assert apply_run.status == RunStatus.FAILED
        assert "a newer plan voided it" in (apply_run.error or "")
        finish_blocked(controller, client, newer)  # blocked again: it needs its own approval
    assert store.get(newer).cost["verdict"] == "block"
    assert cost_blocked(store.get(newer), newer)


def test_an_approval_of_a_plan_without_a_block_verdict_is_refused(controller: Controller) -> None:
    with Client(app) as client:
        sha = controller.commit()
        opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
        deliver(controller, client, "pull_request", opened, "d-open")
        plan_id = controller.backend.jobs[-1].run_id
        send(client, DETAIL_RUN_FINISHED, {"run_id": plan_id, "sequence": 3, "status": "succeeded"})
        record_head(controller, 7, sha)
        comment(controller, client, 7, "maestro approve-cost", user="lead")
    [answer] = answers(controller, 7)
    assert "has no blocked cost (verdict: `none`); nothing to approve" in answer
    assert controller.services.store.get(plan_id).approved_by is None


def test_an_approval_of_an_older_heads_plan_is_refused(controller: Controller) -> None:
    with Client(app) as client:
        _, plan_id = plan_with_blocking_cost(controller, client)
        record_head(controller, 7, controller.commit({"later.tf": "# pushed after\n"}))
        comment(controller, client, 7, "maestro approve-cost", user="lead")
    [answer] = answers(controller, 7)
    assert "is not of the PR's head" in answer
    assert controller.services.store.get(plan_id).approved_by is None


def test_an_approval_lifts_only_the_plan_run_sha_and_verdict_it_names() -> None:
    plan = Run(
        id="run-a",
        repo="acme/x",
        pipeline="terraform-plan",
        sha="a" * 40,
        pr=7,
        status=RunStatus.SUCCEEDED,
        cost={"verdict": "block"},
    )
    assert cost_blocked(plan)
    named = plan.model_copy(update={"approved_by": "lead", "approved_for": approval_mark(plan)})
    assert not cost_blocked(named) and not cost_blocked(named, "run-a")
    assert cost_blocked(named, "run-b")  # a newer plan of the PR
    for other in (
        "run-b " + "a" * 40 + " block",
        "run-a " + "b" * 40 + " block",
        "run-a " + "a" * 40 + " none",
    ):
        assert cost_blocked(named.model_copy(update={"approved_for": other}))
    assert cost_blocked(plan.model_copy(update={"approved_by": "lead"}))  # names nothing
