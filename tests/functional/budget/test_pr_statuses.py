"""A run's statuses are counted against its PR's budget: the notifier passes ``run.pr`` along."""

from __future__ import annotations

from chalicelib.budget.state import BudgetScope
from chalicelib.flows.notify import Notifier
from chalicelib.githost.budgeted import BudgetedGitHost
from chalicelib.runs.model import Run
from tests.functional.budget.conftest import BudgetAws
from tests.unit.budget.fakes import RecordingHost

REPO = "acme/infra"


def run(sha: str, pr: int | None) -> Run:
    return Run(id=f"run-{sha[:4]}", repo=REPO, pipeline="terraform-plan", sha=sha, pr=pr)


def test_a_prs_statuses_spend_the_prs_budget(budget_aws: BudgetAws) -> None:
    github = RecordingHost(clock=budget_aws.clock)
    notifier = Notifier(BudgetedGitHost(github, budget_aws.ledger()), budget_aws.settings)
    for n in range(80):  # PR 5 spends its minute on comments
        notifier.answer(REPO, 5, f"answer {n}")
    notifier.run_status(run("a" * 40, pr=5), "pending", "queued")  # waits for PR 5's budget
    notifier.run_status(run("b" * 40, pr=None), "pending", "queued")  # a push: goes at once
    assert [w[2] for w in github.writes if w[0] == "status"] == ["b" * 40]
    pending = budget_aws.ledger().state(BudgetScope(REPO, 5)).pending
    assert list(pending) == [f"status:{'a' * 40}:maestrops/terraform-plan"]

    budget_aws.clock.now += 60
    BudgetedGitHost(github, budget_aws.ledger()).flush()  # the schedule, another invocation
    assert [w[2] for w in github.writes if w[0] == "status"] == ["b" * 40, "a" * 40]


def test_a_status_sent_later_still_names_its_pr(budget_aws: BudgetAws) -> None:
    """The pending write keeps the PR, so the flushed status is counted the same way."""

    class PrRecordingHost(RecordingHost):
        def set_status(self, repo, sha, status, *, pr=None):  # type: ignore[no-untyped-def]
            super().set_status(repo, sha, status, pr=pr)
            self.writes.append(("status-pr", sha, pr))

    github = PrRecordingHost(clock=budget_aws.clock)
    host = BudgetedGitHost(github, budget_aws.ledger())
    for n in range(80):
        host.post_comment(REPO, 5, "x", thread=f"t{n}")
    Notifier(host, budget_aws.settings).run_status(run("a" * 40, pr=5), "success", "done")
    budget_aws.clock.now += 60
    BudgetedGitHost(github, budget_aws.ledger()).flush()
    assert ("status-pr", "a" * 40, 5) in github.writes
