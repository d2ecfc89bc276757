"""Fork pull requests: the fork rule comes from the base branch, for events and commands alike,
and a command acts only on the head its author saw.

Through the webhook, the queue and the dispatcher, on moto; the local Git host stands in for
GitHub (the PR's head, fork flag and head commit time).
"""

from __future__ import annotations

from chalice.test import Client

from app import app
from chalicelib.runs.query import RunQuery
from tests.functional.conftest import Controller
from tests.functional.flows.commands.test_comment_commands import (
    answers,
    comment,
    reactions,
    record_head,
)
from tests.functional.flows.test_dispatch import deliver
from tests.gitrepo import git
from tests.payloads import pull_request

FORKS_PLAN = "forks:\n  plan: true\n"
SELF_ALLOWING = "forks:\n  plan: true\n"  # what a fork would write into its own config


def base_branch(controller: Controller, gitops: str | None) -> None:
    """``infra_main`` with ``gitops`` as its .gitops.yml (``None``: none, the defaults)."""
    controller.commit({".gitops.yml": gitops} if gitops is not None else None)
    git(controller.repo_dir, "branch", "-f", "infra_main", "HEAD")


def fork_head(controller: Controller, gitops: str) -> str:
    return controller.commit({".gitops.yml": gitops, "fork.tf": "# from a fork\n"})


def plans(controller: Controller) -> list:
    return controller.services.store.query(RunQuery(pipeline="terraform-plan")).runs


def test_a_fork_cannot_allow_itself_with_its_own_config(controller: Controller) -> None:
    base_branch(controller, None)
    sha = fork_head(controller, SELF_ALLOWING)
    with Client(app) as client:
        payload = pull_request("opened", "infra_features", "infra_main", sha=sha, fork=True)
        deliver(controller, client, "pull_request", payload, "d-fork")
    assert plans(controller) == [] and controller.backend.jobs == []


def test_a_forks_config_is_never_read_not_even_when_broken(controller: Controller) -> None:
    base_branch(controller, None)
    sha = fork_head(controller, "terraform: [unclosed\n")  # would be a failed config run
    with Client(app) as client:
        payload = pull_request("opened", "infra_features", "infra_main", sha=sha, fork=True)
        deliver(controller, client, "pull_request", payload, "d-fork")
    assert controller.services.store.query(RunQuery()).runs == []
    assert not [r for r in controller.outbox_records() if r["kind"] == "status"]


def test_a_fork_plans_when_the_base_branch_allows_it(controller: Controller) -> None:
    base_branch(controller, FORKS_PLAN)
    sha = fork_head(controller, "terraform: [unclosed\n")
    with Client(app) as client:
        payload = pull_request("opened", "infra_features", "infra_main", sha=sha, fork=True)
        deliver(controller, client, "pull_request", payload, "d-fork")
    [plan] = plans(controller)
    assert plan.sha == sha and controller.backend.jobs[-1].sha == sha


def test_a_command_on_a_fork_pr_honours_the_base_branchs_fork_rule(
    controller: Controller,
) -> None:
    base_branch(controller, None)
    sha = fork_head(controller, SELF_ALLOWING)
    record_head(controller, 9, sha, fork=True)
    with Client(app) as client:
        comment(controller, client, 9, "maestro plan")
        assert plans(controller) == []
        [answer] = answers(controller, 9)
        assert "this PR comes from a fork" in answer and "`forks.plan`" in answer
        assert reactions(controller) == [(1001, "confused")]
        base_branch(controller, FORKS_PLAN)
        comment(controller, client, 9, "maestro plan", comment_id=1002)
    [plan] = plans(controller)
    assert plan.sha == sha and reactions(controller)[-1] == (1002, "eyes")


def test_a_command_never_plans_a_head_committed_after_it(controller: Controller) -> None:
    sha = controller.commit({"later.tf": "# pushed after the comment\n"})
    record_head(controller, 7, sha)
    with Client(app) as client:
        comment(controller, client, 7, "maestro plan", written="2020-01-01T00:00:00Z")
        assert plans(controller) == []
        [answer] = answers(controller, 7)
        assert f"the PR's head `{sha[:7]}` is newer than this comment" in answer
        comment(controller, client, 7, "maestro plan", comment_id=1002)  # written now
    [plan] = plans(controller)
    assert plan.sha == sha


def test_a_command_without_a_time_is_refused(controller: Controller) -> None:
    record_head(controller, 7, controller.commit())
    with Client(app) as client:
        comment(controller, client, 7, "maestro plan", written="not a time")
    assert plans(controller) == []
    assert "is newer than this comment (or its time is unknown)" in answers(controller, 7)[0]


def test_a_fork_plan_that_waited_for_a_lock_resumes_with_the_base_branchs_config(
    controller: Controller,
) -> None:
    """The record remembers the fork, so the resumed plan never reads the fork's config."""
    from tests.functional.locks.scenario import Clock, close_pr, install_gate, open_pr

    install_gate(controller, Clock())
    base_branch(controller, FORKS_PLAN)
    with Client(app) as client:
        sha7 = open_pr(controller, client, 7)  # PR 7 holds the workspace lease
        fork_sha = fork_head(controller, "terraform: [unclosed\n")  # broken if ever read
        payload = pull_request(
            "opened", "infra_features", "infra_main", sha=fork_sha, number=8, fork=True
        )
        deliver(controller, client, "pull_request", payload, "d-fork-8")
        [waiting] = [run for run in plans(controller) if run.pr == 8]
        assert waiting.from_fork and waiting.waiting_for == 7
        close_pr(controller, client, 7, sha7, merged=False)  # the lease passes to the fork
    resumed = controller.services.store.get(waiting.id)
    assert resumed.status.value == "dispatched", resumed.error
    assert controller.backend.jobs[-1].sha == fork_sha
