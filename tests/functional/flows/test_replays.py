"""Replays start no work: the same signed body sent again with a new delivery id finds the run
the first delivery started (one apply per merge commit, one ci-application per pushed sha, one
plan per PR head), while a user's own request for another run still starts one.

Through the webhook, the queue and the dispatcher, on moto.
"""

from __future__ import annotations

import copy

from chalice.test import Client

from app import app
from chalicelib.runs.model import RunStatus
from chalicelib.runs.query import RunQuery
from tests.functional.conftest import REPO, Controller
from tests.functional.flows.commands.test_comment_commands import comment, record_head
from tests.functional.flows.test_dispatch import deliver
from tests.functional.locks.scenario import finish
from tests.payloads import pull_request, push


def runs_of(controller: Controller, pipeline: str) -> list:
    return controller.services.store.query(RunQuery(pipeline=pipeline, limit=50)).runs


def test_a_replayed_merge_starts_no_second_apply(controller: Controller) -> None:
    sha = controller.commit()
    with Client(app) as client:
        opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
        deliver(controller, client, "pull_request", opened, "d-open")
        finish(client, controller.backend.jobs[-1].run_id)
        merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
        for delivery in ("d-merge", "d-merge-replay-1", "d-merge-replay-2"):
            deliver(controller, client, "pull_request", merged, delivery)
    [apply_run] = runs_of(controller, "terraform-apply")
    assert apply_run.status == RunStatus.DISPATCHED and apply_run.delivery_id == "d-merge"
    assert [job.pipeline.value for job in controller.backend.jobs].count("terraform-apply") == 1
    assert not [run for run in runs_of(controller, "terraform-apply") if run.error]


def test_a_replayed_push_to_integration_builds_once(controller: Controller) -> None:
    sha = controller.commit()
    with Client(app) as client:
        for delivery in ("d-ci", "d-ci-replay"):
            deliver(controller, client, "push", push("integration", sha), delivery)
        other = controller.commit({"app.txt": "next\n"})
        deliver(controller, client, "push", push("integration", other), "d-ci-next")
    built = sorted((run.sha, run.delivery_id) for run in runs_of(controller, "ci-application"))
    assert built == sorted([(sha, "d-ci"), (other, "d-ci-next")])
    assert len(controller.backend.jobs) == 2


def test_a_replayed_synchronize_plans_once_per_head(controller: Controller) -> None:
    sha = controller.commit()
    with Client(app) as client:
        body = pull_request("synchronize", "infra_features", "infra_main", sha=sha)
        for delivery in ("d-sync", "d-sync-replay", "d-sync-replay-2"):
            deliver(controller, client, "pull_request", body, delivery)
        opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
        deliver(controller, client, "pull_request", opened, "d-open-same-head")
    [plan] = runs_of(controller, "terraform-plan")
    assert plan.delivery_id == "d-sync" and plan.status == RunStatus.DISPATCHED
    assert len(controller.backend.jobs) == 1


def test_a_replayed_reopening_plans_once_and_a_new_reopening_plans_again(
    controller: Controller,
) -> None:
    sha = controller.commit()
    with Client(app) as client:
        opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
        deliver(controller, client, "pull_request", opened, "d-open")
        reopened = pull_request("reopened", "infra_features", "infra_main", sha=sha)
        reopened["pull_request"]["updated_at"] = "2026-11-30T10:00:00Z"
        for delivery in ("d-reopen", "d-reopen-replay-1", "d-reopen-replay-2"):
            deliver(controller, client, "pull_request", reopened, delivery)
        again = copy.deepcopy(reopened)  # closed and reopened once more, later
        again["pull_request"]["updated_at"] = "2026-11-30T11:00:00Z"
        for delivery in ("d-reopen-2", "d-reopen-2-replay"):
            deliver(controller, client, "pull_request", again, delivery)
    plans = sorted(runs_of(controller, "terraform-plan"), key=lambda run: run.run_number)
    assert [run.delivery_id for run in plans] == ["d-open", "d-reopen", "d-reopen-2"]
    assert len(controller.backend.jobs) == 3


def test_a_user_still_asks_for_another_plan_of_the_same_head(controller: Controller) -> None:
    sha = controller.commit()
    with Client(app) as client:
        opened = pull_request("opened", "infra_features", "infra_main", sha=sha)
        deliver(controller, client, "pull_request", opened, "d-open")
        record_head(controller, 7, sha)
        comment(controller, client, 7, "maestro plan")
        deliver(controller, client, "pull_request", opened, "d-open-replay")  # still nothing
    assert [run.sha for run in runs_of(controller, "terraform-plan")] == [sha, sha]
    assert len(controller.backend.jobs) == 2


def test_back_to_an_earlier_head_plans_it_again(controller: Controller) -> None:
    first = controller.commit({"a.tf": "# a\n"})
    second = controller.commit({"b.tf": "# b\n"})
    with Client(app) as client:
        for n, sha in enumerate((first, second, first)):  # a force-push back to the first
            body = pull_request("synchronize", "infra_features", "infra_main", sha=sha)
            deliver(controller, client, "pull_request", body, f"d-sync-{n}")
        replay = pull_request("synchronize", "infra_features", "infra_main", sha=first)
        deliver(controller, client, "pull_request", replay, "d-sync-replay")
    plans = sorted(runs_of(controller, "terraform-plan"), key=lambda run: run.run_number)
    assert [run.sha for run in plans] == [first, second, first]
    assert plans[-1].status == RunStatus.DISPATCHED


def test_the_same_delivery_processed_again_finds_its_own_run(controller: Controller) -> None:
    from chalicelib.events.trigger import Trigger

    sha = controller.commit()
    with Client(app) as client:
        deliver(controller, client, "push", push("integration", sha), "d-ci")
    [run] = runs_of(controller, "ci-application")
    trigger = Trigger(delivery_id="d-ci", event="push", repo=REPO, sha=sha, branch="integration")
    again = controller.services.dispatcher.process(trigger)  # SQS delivers at least once
    assert [r.id for r in again] == [run.id] and len(controller.backend.jobs) == 1
