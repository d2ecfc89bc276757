"""The cost step stores data; the controller renders the cost block when it writes the comment.

Each case runs the runner's ``publish_cost`` into an in-memory artifact store, then the
controller's ``run_feedback`` from those artifacts, and compares the comment with the one a run
of the previous layout produced (the runner rendered ``cost_block`` and the controller pasted
it): the text must be identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.costs import (
    CostConfig,
    CostInsights,
    CostReport,
    PolicyResult,
    estimate_plan,
    evaluate_policy,
    find_insights,
    render_cost_block,
)
from chalicelib.feedback.publish import RunFeedback, plan_cost, run_feedback
from chalicelib.runs.model import Run, RunStatus
from runners.steps.cost import publish_cost
from tests.unit.costs.test_render import _infracost, _many_changes, _plan

PLAN = "plan_with_target.json"  # the Terraform plan every comment below summarizes
POLICIES = {
    "pass": {},
    "warn": {"monthly_total": {"limit": 0, "action": "warn"}},
    "block": {"monthly_increase": {"limit": 0, "action": "block"}, "approver_role": "admin"},
}
REPORTS: dict[str, Callable[[], tuple[CostReport, str]]] = {
    "infracost_increase": lambda: (_infracost("terraform_v0.14_breakdown.json"), PLAN),
    "infracost_projects": lambda: (_infracost("multi_project_names.json"), PLAN),
    "infracost_no_baseline": lambda: (_infracost("output_format_json.json"), PLAN),
    "infracost_usage": lambda: (_infracost("breakdown_format_json.json"), PLAN),
    "infracost_project_error": lambda: (_infracost("out_with_project_error.json"), PLAN),
    "infracost_no_change": lambda: (_infracost("no_diff.json"), PLAN),
    "builtin_unpriced": lambda: (estimate_plan(_plan("test_issue-158.plan.json")), PLAN),
    "builtin_insights": lambda: (estimate_plan(_plan("plan.tfplan.json")), "plan.tfplan.json"),
    "builtin_resize": lambda: (estimate_plan(_plan(PLAN)), PLAN),
    "builtin_many_rows": lambda: (_many_changes(), PLAN),
}


class MemoryArtifacts:
    """The runner's ``ArtifactStore`` and the controller's reader over one dict."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_bytes(self, name: str, data: bytes) -> str:
        uri = f"mem://run/{name}"
        self.objects[uri] = data
        return uri

    def put_file(self, name: str, path: Path) -> str:
        return self.put_bytes(name, path.read_bytes())

    def read(self, uri: str) -> bytes | None:
        return self.objects.get(uri)


def _run(artifacts: dict[str, str]) -> Run:
    return Run(
        id="01JD7X0RUN",
        repo="octo/infra",
        pipeline="terraform-plan",
        status=RunStatus.SUCCEEDED,
        sha="0a3087a6c1d2e3f405162738495a6b7c8d9e0f1a",
        pr=7,
        run_number=12,
        commit_time="2026-11-26T08:00:00Z",
        artifacts=artifacts,
    )


def _feedback(store: MemoryArtifacts, artifacts: dict[str, str]) -> RunFeedback:
    run = _run(artifacts)
    return run_feedback(run, "https://maestrops.example.com/runs/01JD7X0RUN", store.read, _nolink)


def _nolink(uri: str) -> str | None:
    return None


def _publish(store: MemoryArtifacts, report: CostReport, plan: dict[str, Any], policy: dict):
    config = CostConfig.model_validate({"policy": policy})
    return publish_cost(SimpleNamespace(store=store), report, config, plan, "built-in estimate")  # type: ignore[arg-type]


def _block_as_the_runner_rendered_it(report: CostReport, plan: dict, policy: dict) -> str:
    """The previous layout: the runner joined the estimate and the verdict into Markdown."""
    config = CostConfig.model_validate({"policy": policy})
    insights = find_insights(plan, config.insights, default_region=config.default_region)
    verdict = evaluate_policy(report, config.policy)
    parts = (render_cost_block(report, insights), verdict.render())
    return "\n\n".join(part for part in parts if part)


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("case", sorted(REPORTS))
def test_the_controller_renders_the_same_comment_the_runner_used_to(case: str, policy: str) -> None:
    report, plan_name = REPORTS[case]()
    plan = _plan(plan_name)
    store = MemoryArtifacts()
    plan_json = store.put_bytes("plan.json", json.dumps(plan).encode())
    outcome = _publish(store, report, plan, POLICIES[policy])
    now = _feedback(store, {"plan_json": plan_json, **outcome.artifacts})

    old_block = _block_as_the_runner_rendered_it(report, plan, POLICIES[policy])
    legacy = {
        "plan_json": plan_json,
        "cost_report": outcome.artifacts["cost_report"],
        "cost_policy": outcome.artifacts["cost_policy"],
        "cost_block": store.put_bytes("cost-block.md", old_block.encode()),
    }
    before = _feedback(store, legacy)
    assert now.comments == before.comments
    assert now.description == before.description


def test_the_runner_stores_json_only() -> None:
    store = MemoryArtifacts()
    plan = _plan("plan.tfplan.json")
    outcome = _publish(store, estimate_plan(plan), plan, POLICIES["block"])
    assert set(outcome.artifacts) == {"cost_report", "cost_policy", "cost_insights"}
    for uri in outcome.artifacts.values():
        json.loads(store.objects[uri])  # data, not Markdown
    insights = CostInsights.model_validate_json(store.objects[outcome.artifacts["cost_insights"]])
    assert insights.insights  # this plan has ways to spend less, kept as values
    verdict = PolicyResult.model_validate_json(store.objects[outcome.artifacts["cost_policy"]])
    assert verdict.needs_approval and verdict.approver_role == "admin"
    assert outcome.reason is not None and outcome.reason.startswith(
        "built-in estimate; Cost blocked"
    )


def test_an_old_run_shows_the_block_it_stored() -> None:
    store = MemoryArtifacts()
    plan = _plan(PLAN)
    outcome = _publish(store, estimate_plan(plan), plan, POLICIES["pass"])
    stored = "💰 **Monthly cost:** $1.00 → $2.00 (**+$1.00**), worded as it was then"
    artifacts = {
        "cost_report": outcome.artifacts["cost_report"],
        "cost_block": store.put_bytes("cost-block.md", stored.encode()),
    }
    cost = plan_cost(artifacts, store.read)
    assert cost.block == stored and cost.reason is None
    assert cost.monthly_delta == estimate_plan(plan).diff_total_monthly_cost


def test_the_data_wins_over_a_block_once_a_run_has_insights() -> None:
    store = MemoryArtifacts()
    plan = _plan(PLAN)
    outcome = _publish(store, estimate_plan(plan), plan, POLICIES["pass"])
    artifacts = {**outcome.artifacts, "cost_block": store.put_bytes("cost-block.md", b"stale")}
    expected = _block_as_the_runner_rendered_it(estimate_plan(plan), plan, POLICIES["pass"])
    assert expected and plan_cost(artifacts, store.read).block == expected


def test_rendering_again_gives_the_same_block() -> None:
    store = MemoryArtifacts()
    plan = _plan("plan.tfplan.json")
    outcome = _publish(store, estimate_plan(plan), plan, POLICIES["warn"])
    first = plan_cost(outcome.artifacts, store.read)
    assert (
        first.block and "Ways to spend less" in first.block and "Cost policy: warn" in first.block
    )
    assert plan_cost(dict(outcome.artifacts), store.read) == first


@pytest.mark.parametrize(
    "artifacts",
    [
        {},
        {"cost_insights": "mem://run/gone.json"},
        {"cost_report": "mem://run/gone.json", "cost_insights": "mem://run/gone.json"},
        {"cost_block": "mem://run/gone.md"},
    ],
)
def test_without_cost_data_the_comment_says_so(artifacts: dict[str, str]) -> None:
    cost = plan_cost(artifacts, MemoryArtifacts().read)
    assert cost.block is None and cost.reason == "the cost step produced no estimate"


@pytest.mark.parametrize("name", ["cost_report", "cost_insights", "cost_policy"])
@pytest.mark.parametrize("body", [b"not json", b'{"insights": [{"rule": 1}]}', b"[]"])
def test_unreadable_cost_data_leaves_the_comment_without_a_block(name: str, body: bytes) -> None:
    store = MemoryArtifacts()
    plan = _plan(PLAN)
    outcome = _publish(store, estimate_plan(plan), plan, POLICIES["block"])
    store.objects[outcome.artifacts[name]] = body
    cost = plan_cost(outcome.artifacts, store.read)
    assert cost.block is None and cost.reason is not None
    assert cost.reason.startswith("the cost data is unreadable")
    plan_json = store.put_bytes("plan.json", json.dumps(plan).encode())
    comments = _feedback(store, {"plan_json": plan_json, **outcome.artifacts}).comments
    assert "the cost data is unreadable" in comments[0]  # the plan comment still goes out


def test_a_legacy_block_that_is_not_utf8_is_shown_replaced() -> None:
    store = MemoryArtifacts()
    artifacts = {"cost_block": store.put_bytes("cost-block.md", b"\xff cost")}
    assert plan_cost(artifacts, store.read).block == "\ufffd cost"
