"""Statuses are counted against their PR's budget when a run of the PR has the sha."""

from __future__ import annotations

import boto3

from chalicelib.budget.state import BudgetScope
from chalicelib.githost.base import CommitStatus
from chalicelib.githost.budgeted import BudgetedGitHost, PrOfSha
from chalicelib.runs.model import Run
from chalicelib.store.runs import DynamoRunStore
from tests.functional.budget.conftest import BudgetAws
from tests.unit.budget.fakes import RecordingHost

REPO = "acme/infra"


def seed(budget_aws: BudgetAws) -> None:
    store = DynamoRunStore(budget_aws.settings.table, boto3.resource("dynamodb"))
    for number, (sha, pr) in enumerate([("a" * 40, 5), ("b" * 40, None), ("c" * 40, 6)]):
        store.create(
            Run(
                id=f"run-{number}",
                repo=REPO,
                pipeline="terraform-plan",
                sha=sha,
                pr=pr,
                created_at=f"2026-11-26T08:0{number}:00.000Z",
            )
        )


def test_the_pr_of_a_sha_comes_from_the_repositorys_newest_runs(budget_aws: BudgetAws) -> None:
    seed(budget_aws)
    pr_of = PrOfSha(budget_aws.settings.table)
    assert pr_of(REPO, "a" * 40) == 5
    assert pr_of(REPO, "c" * 40) == 6
    assert pr_of(REPO, "b" * 40) is None  # a push run: no PR
    assert pr_of(REPO, "d" * 40) is None
    assert pr_of("acme/other", "a" * 40) is None
    assert PrOfSha(budget_aws.settings.table, look_back=1)(REPO, "a" * 40) is None


def test_a_prs_statuses_spend_the_prs_budget(budget_aws: BudgetAws) -> None:
    seed(budget_aws)
    github = RecordingHost(clock=budget_aws.clock)
    host = BudgetedGitHost(github, budget_aws.ledger(), pr_of=PrOfSha(budget_aws.settings.table))
    for n in range(80):
        host.post_comment(REPO, 5, "x", thread=f"t{n}")
    pending = CommitStatus(context="maestrops/plan", state="pending", description="")
    host.set_status(REPO, "a" * 40, pending)  # PR 5's minute is spent: it waits
    host.set_status(REPO, "b" * 40, pending)  # push: per sha and context, goes at once
    assert [w[2] for w in github.writes if w[0] == "status"] == ["b" * 40]
    ledger = budget_aws.ledger()
    assert list(ledger.state(BudgetScope(REPO, 5)).pending) == [f"status:{'a' * 40}:maestrops/plan"]

    budget_aws.clock.now += 60
    host.flush()
    assert [w[2] for w in github.writes if w[0] == "status"] == ["b" * 40, "a" * 40]


def test_a_failing_lookup_still_sends_the_status(budget_aws: BudgetAws) -> None:
    github = RecordingHost(clock=budget_aws.clock)

    def broken(repo: str, sha: str) -> int | None:
        raise RuntimeError("throttled")

    host = BudgetedGitHost(github, budget_aws.ledger(), pr_of=broken)
    host.set_status(REPO, "a" * 40, CommitStatus(context="c", state="success", description=""))
    assert [w[0] for w in github.writes] == ["status"]
