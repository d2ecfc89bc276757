"""PR comment commands through the webhook, the queue and the dispatcher, on moto."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.githost.base import PullRequestHead
from chalicelib.locks.lease import LockKey
from chalicelib.runs.model import RunStatus
from chalicelib.runs.query import RunQuery
from tests.functional.conftest import REPO, Controller
from tests.functional.flows.test_dispatch import deliver
from tests.functional.locks.scenario import (
    Clock,
    finish,
    install_gate,
    job_runs,
    open_pr,
    records,
    run_item,
)
from tests.payloads import load_event, pull_request

KEY = LockKey(repo=REPO, directory="terraform/infra", workspace="default")
APPLY_ON = "comments:\n  apply:\n    enabled: true\n    requires: [approved, mergeable]\n"


@pytest.fixture
def gate(controller: Controller) -> Clock:
    clock = Clock()
    install_gate(controller, clock)
    return clock


def comment(
    controller: Controller,
    client: Client,
    pr: int,
    body: str,
    *,
    user: str = "octocat",
    comment_id: int = 1001,
    action: str = "created",
    on_pr: bool = True,
    written: str | None = None,
) -> dict[str, Any]:
    """Deliver a comment written ``written`` (ISO 8601; default: now, after every commit)."""
    payload = copy.deepcopy(load_event("issue_comment.on_pull_request"))
    payload["action"] = action
    payload["repository"]["full_name"] = REPO
    payload["issue"]["number"] = pr
    if not on_pr:
        payload["issue"].pop("pull_request")
    created_at = written or datetime.now(UTC).isoformat().replace("+00:00", "Z")
    payload["comment"].update(id=comment_id, body=body, created_at=created_at)
    payload["comment"]["user"]["login"] = user
    return deliver(controller, client, "issue_comment", payload, f"c-{comment_id}")


def record_head(
    controller: Controller, pr: int, sha: str, *, fork: bool = False, **state: bool
) -> None:
    head = PullRequestHead(sha, "infra_features", "infra_main", fork=fork)
    controller.services.githost.record_pull_request(REPO, pr, head, **state)


def reactions(controller: Controller) -> list[tuple[int, str]]:
    return [(r["comment_id"], r["content"]) for r in records(controller, "reaction")]


def answers(controller: Controller, pr: int) -> list[str]:
    return [
        r["body"]
        for r in records(controller, "comment")
        if r["thread"] == "commands" and r["pr"] == pr
    ]


def runs_of(controller: Controller, pr: int, pipeline: str) -> list:
    query = RunQuery(repo=REPO, pr=pr, pipeline=pipeline, limit=20)
    return controller.services.store.query(query).runs


def test_plan_replans_the_current_head(controller: Controller, gate: Clock) -> None:
    with Client(app) as client:
        open_pr(controller, client, 7)
        head = controller.commit({"later.tf": "# pushed, webhook not seen yet\n"})
        record_head(controller, 7, head)
        comment(controller, client, 7, "maestro plan")
    assert job_runs(controller) == [("terraform-plan", 7), ("terraform-plan", 7)]
    job = controller.backend.jobs[-1]
    assert job.sha == head and job.branch == "infra_features"
    run = controller.services.store.get(job.run_id)
    assert run.reason == "comment by @octocat" and run.status == RunStatus.DISPATCHED
    assert reactions(controller) == [(1001, "eyes")]
    assert answers(controller, 7) == []  # accepted: a reaction, no answer


def test_plan_on_a_locked_workspace_waits(controller: Controller, gate: Clock) -> None:
    with Client(app) as client:
        open_pr(controller, client, 7)
        record_head(controller, 8, controller.commit({"eight.tf": "# 8\n"}))
        comment(controller, client, 8, "maestro plan")
    [waiting] = runs_of(controller, 8, "terraform-plan")
    assert waiting.status == RunStatus.QUEUED
    assert run_item(waiting.id, controller.services.settings.table)["waiting_for"] == 7
    assert reactions(controller) == [(1001, "eyes")]


def test_a_second_plan_of_a_waiting_pr_takes_the_place_of_the_first(
    controller: Controller, gate: Clock
) -> None:
    with Client(app) as client:
        open_pr(controller, client, 7)
        sha8 = open_pr(controller, client, 8)
        record_head(controller, 8, sha8)
        comment(controller, client, 8, "maestro plan")  # same sha: no push supersedes it
    first, second = sorted(runs_of(controller, 8, "terraform-plan"), key=lambda r: r.run_number)
    assert first.status == RunStatus.SUPERSEDED and first.superseded_by == second.id
    assert second.status == RunStatus.QUEUED
    lease = controller.services.locks.leases.get(KEY)
    assert [(w.pr, w.run_id) for w in lease.waiters] == [(8, second.id)]


def test_unlock_releases_and_the_waiting_plan_runs(controller: Controller, gate: Clock) -> None:
    with Client(app) as client:
        sha7 = open_pr(controller, client, 7)
        open_pr(controller, client, 8)
        record_head(controller, 7, sha7)
        comment(controller, client, 7, "maestro unlock")
    assert job_runs(controller) == [("terraform-plan", 7), ("terraform-plan", 8)]
    assert controller.services.locks.leases.get(KEY).holder.pr == 8
    assert reactions(controller) == [(1001, "eyes")]


def test_unlock_by_a_pr_that_holds_nothing_is_refused(controller: Controller, gate: Clock) -> None:
    with Client(app) as client:
        open_pr(controller, client, 7)
        sha8 = open_pr(controller, client, 8)
        record_head(controller, 8, sha8)
        comment(controller, client, 8, "maestro unlock")
    lease = controller.services.locks.leases.get(KEY)
    assert lease.holder.pr == 7 and [w.pr for w in lease.waiters] == [8]  # still in line
    [answer] = answers(controller, 8)
    assert answer == "🚫 `maestro unlock` was not run: PR #8 holds no lock"
    assert reactions(controller) == [(1001, "confused")]


def test_help_and_a_command_that_cannot_be_read(controller: Controller, gate: Clock) -> None:
    record_head(controller, 7, controller.commit())
    with Client(app) as client:
        comment(controller, client, 7, "maestro help")
        comment(controller, client, 7, "maestro destroy everything", comment_id=1002)
    first, second = answers(controller, 7)
    assert "**MaestrOps commands**" in first and "`maestro unlock`" in first
    assert second.startswith("⚠️ unknown command 'destroy'") and "**MaestrOps commands**" in second
    assert reactions(controller) == [(1001, "eyes"), (1002, "eyes")]


def test_the_prefix_comes_from_gitops_yml(controller: Controller, gate: Clock) -> None:
    record_head(
        controller, 7, controller.commit({".gitops.yml": "comments: {command_prefix: ops}\n"})
    )
    with Client(app) as client:
        comment(controller, client, 7, "maestro help")
        comment(controller, client, 7, "ops help", comment_id=1002)
    [answer] = answers(controller, 7)
    assert "`ops plan [-d DIR] [-w WORKSPACE]`" in answer
    assert reactions(controller) == [(1002, "eyes")]


@pytest.mark.parametrize(
    ("body", "kwargs"),
    [
        ("maestro plan", {"action": "edited"}),
        ("maestro plan", {"on_pr": False}),
        ("I think we should `maestro plan` later", {}),
        ("> maestro plan\nquoted", {}),
    ],
)
def test_what_is_not_a_command_does_nothing(
    controller: Controller, gate: Clock, body: str, kwargs: dict
) -> None:
    record_head(controller, 7, controller.commit())
    with Client(app) as client:
        comment(controller, client, 7, body, **kwargs)
    assert (
        controller.backend.jobs == []
        and reactions(controller) == []
        and answers(controller, 7) == []
    )


def test_commenter_without_write_access_is_refused(controller: Controller, gate: Clock) -> None:
    record_head(controller, 7, controller.commit())
    roles = controller.outbox / REPO / "collaborators.json"
    roles.write_text(json.dumps({"octocat": "write", "visitor": "read"}))
    with Client(app) as client:
        comment(controller, client, 7, "maestro plan", user="visitor")
        comment(controller, client, 7, "maestro plan", user="stranger", comment_id=1002)
    assert controller.backend.jobs == []
    first, second = answers(controller, 7)
    assert first == f"🚫 `maestro plan` was not run: @visitor needs write access to {REPO}"
    assert "@stranger needs write access" in second
    assert reactions(controller) == [(1001, "confused"), (1002, "confused")]


def test_plan_of_another_directory_is_refused(controller: Controller, gate: Clock) -> None:
    record_head(controller, 7, controller.commit())
    with Client(app) as client:
        comment(controller, client, 7, "maestro plan -d elsewhere")
    [answer] = answers(controller, 7)
    assert "only `terraform/infra` is configured" in answer and controller.backend.jobs == []


def test_apply_is_off_by_default(controller: Controller, gate: Clock) -> None:
    with Client(app) as client:
        sha = open_pr(controller, client, 7)
        record_head(controller, 7, sha, approved=True)
        comment(controller, client, 7, "maestro apply")
    [answer] = answers(controller, 7)
    assert "apply before merge is off" in answer and "comments.apply.enabled" in answer
    assert job_runs(controller) == [("terraform-plan", 7)]


def test_apply_when_enabled_requires_what_gitops_yml_says(
    controller: Controller, gate: Clock
) -> None:
    sha = controller.commit({".gitops.yml": APPLY_ON})
    with Client(app) as client:
        opened = pull_request("opened", "infra_features", "infra_main", sha=sha, number=7)
        deliver(controller, client, "pull_request", opened, "d-open")
        finish(client, controller.backend.jobs[0].run_id)
        record_head(controller, 7, sha, approved=False, mergeable=True)
        comment(controller, client, 7, "maestro apply")
        record_head(controller, 7, sha, approved=True, mergeable=True)
        comment(controller, client, 7, "maestro apply", comment_id=1002)
    [refusal] = answers(controller, 7)
    assert refusal.endswith("the PR is not approved (`comments.apply.requires`)")
    assert job_runs(controller) == [("terraform-plan", 7), ("terraform-apply", 7)]
    apply_job = controller.backend.jobs[-1]
    assert apply_job.parameters == {"fencing_token": "1"}
    assert apply_job.previous_run_id == controller.backend.jobs[0].run_id
    assert reactions(controller) == [(1001, "confused"), (1002, "eyes")]


def test_apply_before_merge_on_a_backend_with_identities_is_refused_saying_why(
    controller: Controller, gate: Clock
) -> None:
    """On CodeBuild or ECS unmerged code runs under the read-only plan identity: the apply
    could not write the state, so the command is answered instead of failing a run."""
    config = APPLY_ON + "pipelines:\n  terraform-apply: {backend: codebuild}\n"
    sha = controller.commit({".gitops.yml": config})
    with Client(app) as client:
        opened = pull_request("opened", "infra_features", "infra_main", sha=sha, number=7)
        deliver(controller, client, "pull_request", opened, "d-open")
        finish(client, controller.backend.jobs[0].run_id)
        record_head(controller, 7, sha, approved=True, mergeable=True)
        for comment_id in (1001, 1002):  # asked twice: the same answer, no run
            comment(controller, client, 7, "maestro apply", comment_id=comment_id)
    refusals = answers(controller, 7)
    assert len(refusals) == 2
    assert all("cannot run on the codebuild backend" in answer for answer in refusals)
    assert job_runs(controller) == [("terraform-plan", 7)]


def test_apply_without_a_reviewed_plan_is_refused_with_the_reason(
    controller: Controller, gate: Clock
) -> None:
    sha = controller.commit({".gitops.yml": APPLY_ON})
    record_head(controller, 7, sha, approved=True, mergeable=True)
    with Client(app) as client:
        comment(controller, client, 7, "maestro apply")
    [answer] = answers(controller, 7)
    assert "no successful terraform-plan" in answer
    assert reactions(controller) == [(1001, "confused")]


def test_approve_cost_is_recorded_on_the_latest_plan(controller: Controller, gate: Clock) -> None:
    controller.commit({".gitops.yml": "cost: {policy: {monthly_total: {limit: 1, action: block}}}"})
    with Client(app) as client:
        open_pr(controller, client, 7)
        sha = open_pr(controller, client, 7, action="synchronize")
        latest = controller.backend.jobs[-1].run_id
        finish_blocked(controller, client, latest)
        record_head(controller, 7, sha)
        comment(controller, client, 7, "maestro approve-cost budgeted in Q4", user="lead")
    item = run_item(latest, controller.services.settings.table)
    assert item["approved_by"] == "lead" and item["approved_at"].endswith("Z")
    assert item["approval_reason"] == "budgeted in Q4"
    older = run_item(controller.backend.jobs[0].run_id, controller.services.settings.table)
    assert "approved_by" not in older
    assert reactions(controller) == [(1001, "eyes")]


@pytest.mark.parametrize(
    ("gitops", "role", "approved"),
    [
        ("", "write", False),
        ("", "maintain", True),
        ("approver_role: write", "write", True),
        ("approver_role: admin", "maintain", False),
    ],
)
def test_approve_cost_needs_the_policys_approver_role(
    controller: Controller, gate: Clock, gitops: str, role: str, approved: bool
) -> None:
    block = "monthly_total: {limit: 1, action: block}"  # the plan's $7.30 is blocked
    sha = controller.commit({".gitops.yml": f"cost: {{policy: {{{block}, {gitops}}}}}\n"})
    roles = controller.outbox / REPO / "collaborators.json"
    roles.parent.mkdir(parents=True, exist_ok=True)
    roles.write_text(json.dumps({"dev": role}))
    with Client(app) as client:
        opened = pull_request("opened", "infra_features", "infra_main", sha=sha, number=7)
        deliver(controller, client, "pull_request", opened, "d-open")
        finish_blocked(controller, client, controller.backend.jobs[0].run_id)
        record_head(controller, 7, sha)
        comment(controller, client, 7, "maestro approve-cost", user="dev")
    item = run_item(controller.backend.jobs[0].run_id, controller.services.settings.table)
    assert ("approved_by" in item) is approved
    if not approved:
        [answer] = answers(controller, 7)
        assert f"@dev has the `{role}` role; approving a cost needs" in answer


def finish_blocked(controller: Controller, client: Client, run_id: str) -> None:
    from tests.functional.flows.commands.test_cost_approval import finish_blocked

    finish_blocked(controller, client, run_id)


def test_approve_cost_without_a_plan_is_refused(controller: Controller, gate: Clock) -> None:
    record_head(controller, 7, controller.commit())
    with Client(app) as client:
        comment(controller, client, 7, "maestro approve-cost")
    [answer] = answers(controller, 7)
    assert answer.endswith("PR #7 has no terraform-plan run to approve")
