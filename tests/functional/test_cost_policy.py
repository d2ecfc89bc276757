"""A blocking cost policy: red status on the plan, no apply until someone approves the cost."""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import yaml
from chalice.test import Client

from app import app
from chalicelib.costs import CostConfig, estimate_plan, evaluate_policy, render_cost_block
from chalicelib.jobs import DETAIL_RUN_FINISHED
from chalicelib.runs.model import RunStatus
from chalicelib.runs.query import RunQuery
from chalicelib.runs.rules import approval_mark
from tests.functional.conftest import Controller
from tests.functional.flows.test_dispatch import deliver
from tests.functional.flows.test_runner_events import send
from tests.functional.test_costs_api import PLAN
from tests.payloads import pull_request

GITOPS = """
cost:
  policy:
    monthly_total: {limit: 1, action: block}
"""


def plan_with_blocking_cost(controller: Controller, client: Client) -> tuple[str, str]:
    sha = controller.commit({".gitops.yml": GITOPS})
    opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
    deliver(controller, client, "pull_request", opened, "d-open")
    run_id = controller.backend.jobs[-1].run_id
    policy = CostConfig.model_validate(controller.backend.jobs[-1].steps[2].params["policy"]).policy
    report = estimate_plan(json.loads(PLAN.read_text()))
    verdict = evaluate_policy(report, policy)
    s3 = boto3.client("s3")
    artifacts = {}
    for name, body in (
        ("cost_report", report.model_dump_json()),
        ("cost_policy", verdict.model_dump_json()),
    ):
        key = f"runs/{run_id}/{name}.json"
        s3.put_object(Bucket="maestrops-artifacts", Key=key, Body=body)
        artifacts[name] = f"s3://maestrops-artifacts/{key}"
    finished = {"run_id": run_id, "sequence": 3, "status": "succeeded", "artifacts": artifacts}
    send(client, DETAIL_RUN_FINISHED, finished)
    return sha, run_id


def test_blocked_cost_turns_the_plan_red_and_refuses_the_apply(controller: Controller) -> None:
    store = controller.services.store
    with Client(app) as client:
        sha, plan_id = plan_with_blocking_cost(controller, client)
        plan = store.get(plan_id)
        assert plan.status == RunStatus.SUCCEEDED and plan.cost["verdict"] == "block"
        status = [r for r in controller.outbox_records() if r["kind"] == "status"][-1]
        assert status["state"] == "failure" and "approve-cost" in status["description"]

        merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
        deliver(controller, client, "pull_request", merged, "d-merge")
    [apply_run] = store.query(RunQuery(pipeline="terraform-apply")).runs
    assert apply_run.status == RunStatus.FAILED
    assert "cost policy blocks" in (apply_run.error or "")


def test_approved_cost_lets_the_apply_run(controller: Controller) -> None:
    store = controller.services.store
    with Client(app) as client:
        sha, plan_id = plan_with_blocking_cost(controller, client)
        approval = approval_mark(store.get(plan_id))  # what `maestro approve-cost` records
        store.update_fields(plan_id, approved_by="octocat", approved_for=approval)
        merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
        deliver(controller, client, "pull_request", merged, "d-merge")
    [apply_run] = store.query(RunQuery(pipeline="terraform-apply")).runs
    assert apply_run.status == RunStatus.DISPATCHED and apply_run.plan_run_id == plan_id


def finish_plan_from_the_runners_data(
    controller: Controller, client: Client, legacy_block: str | None = None
) -> str:
    """Plan a PR and finish it with what the cost step stores in S3.

    With ``legacy_block``, the artifacts are those of a runner of the previous layout: the
    rendered ``cost_block`` and no ``cost_insights``.
    """
    from runners.artifacts import S3ArtifactStore
    from runners.steps.cost import publish_cost

    sha = controller.commit({".gitops.yml": GITOPS})
    opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
    deliver(controller, client, "pull_request", opened, "d-open")
    job = controller.backend.jobs[-1]
    config = CostConfig.model_validate(job.steps[2].params["policy"])
    plan = json.loads(PLAN.read_text())
    store = S3ArtifactStore(f"s3://maestrops-artifacts/runs/{job.run_id}/")
    ctx = SimpleNamespace(store=store)
    outcome = publish_cost(ctx, estimate_plan(plan), config, plan, "built-in estimate")  # type: ignore[arg-type]
    artifacts = {"plan_json": store.put_bytes("plan.json", PLAN.read_bytes()), **outcome.artifacts}
    if legacy_block is not None:
        del artifacts["cost_insights"]
        artifacts["cost_block"] = store.put_bytes("cost-block.md", legacy_block.encode())
    finished = {"run_id": job.run_id, "sequence": 3, "status": "succeeded", "artifacts": artifacts}
    send(client, DETAIL_RUN_FINISHED, finished)
    return job.run_id


def plan_comment(controller: Controller) -> str:
    [comment] = [r for r in controller.outbox_records() if r["kind"] == "comment"]
    return comment["body"]


def test_the_controller_renders_the_cost_block_from_the_runners_json(
    controller: Controller,
) -> None:
    with Client(app) as client:
        run_id = finish_plan_from_the_runners_data(controller, client)
    run = controller.services.store.get(run_id)
    assert set(run.artifacts) >= {"cost_report", "cost_policy", "cost_insights"}
    assert "cost_block" not in run.artifacts  # the runner stores no Markdown
    body = plan_comment(controller)
    report = estimate_plan(json.loads(PLAN.read_text()))
    verdict = evaluate_policy(
        report, CostConfig.model_validate(yaml.safe_load(GITOPS)["cost"]).policy
    )
    assert render_cost_block(report).splitlines()[0] in body  # "### 💰 Cost estimate"
    assert verdict.render().strip() in body  # the block verdict and how to lift it
    assert "maestro approve-cost" in body and "not estimated" not in body


def test_an_old_run_keeps_the_cost_block_it_stored(controller: Controller) -> None:
    old = "💰 **Monthly cost:** $1,204.00 → $1,216.40 (**+$12.40**), as an old runner wrote it"
    with Client(app) as client:
        finish_plan_from_the_runners_data(controller, client, legacy_block=old)
    body = plan_comment(controller)
    assert old in body and "Cost estimate" not in body
