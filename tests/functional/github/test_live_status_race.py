"""The live status against the fake GitHub, through the write budget: a run that ends while
its "running" status is on its way still ends on its result at GitHub."""

from __future__ import annotations

from typing import Any

from chalicelib.event_types import RUNNER_SOURCE
from chalicelib.githost.github import GitHub
from chalicelib.jobs import DETAIL_RUN_FINISHED, DETAIL_RUN_STARTED, DETAIL_STEP_STARTED
from chalicelib.runs.model import Run, RunStatus
from chalicelib.services import Services
from tests.functional.conftest import Controller

from .fake_github import FakeGitHub

REPO = "acme/infra"
SHA = "0a3087a6c1d2e3f405162738495a6b7c8d9e0f1a"
CONTEXT = "maestrops/terraform-plan"


def envelope(detail_type: str, **detail: Any) -> dict[str, Any]:
    return {"source": RUNNER_SOURCE, "detail-type": detail_type, "detail": detail}


def services_on(controller: Controller, github: GitHub) -> Services:
    settings = controller.services.settings.model_copy(update={"write_budget": "on"})
    return Services(settings, git_host=github, backends=controller.services.backends)


def dispatched_run(services: Services) -> str:
    run = Run(
        id="run-race",
        repo=REPO,
        pipeline="terraform-plan",
        sha=SHA,
        pr=9,
        run_number=4,
        status=RunStatus.DISPATCHED,
    )
    services.store.create(run)
    return run.id


def run_statuses(fake: FakeGitHub) -> list[tuple[str, str]]:
    return [(s["state"], s["description"]) for s in fake.statuses if s["context"] == CONTEXT]


def test_a_run_that_ends_while_running_is_posted_ends_on_its_result(
    controller: Controller, fake: FakeGitHub, github: GitHub
) -> None:
    services = services_on(controller, github)
    run_id = dispatched_run(services)
    handle = services.runner_events.handle
    handle(envelope(DETAIL_RUN_STARTED, run_id=run_id, sequence=1, status="running"))
    finished = envelope(DETAIL_RUN_FINISHED, run_id=run_id, sequence=5, status="failed")

    # GitHub receives "running (plan)" only after the run's end was recorded and posted:
    # the order two Lambda invocations can produce.
    answer = fake.handle

    def slow_github(method: str, path: str, headers: dict[str, str], body: bytes):
        running = method == "POST" and path.endswith(f"/statuses/{SHA}") and b"running" in body
        if running and services.store.get(run_id).status == RunStatus.RUNNING:
            handle(finished)
        return answer(method, path, headers, body)

    fake.handle = slow_github  # type: ignore[method-assign]
    handle(envelope(DETAIL_STEP_STARTED, run_id=run_id, sequence=3, current_step="plan"))
    statuses = run_statuses(fake)
    assert statuses[0][0] == "failure"  # the ending, first
    assert statuses[1] == ("pending", "terraform-plan: running (plan)")  # then the late one
    assert statuses[-1] == statuses[0]  # and the ending again: GitHub shows the result
    assert len(statuses) == 3
    assert services.store.get(run_id).status == RunStatus.FAILED
    # The same late event again, twice: nothing more is written.
    for _ in range(2):
        handle(envelope(DETAIL_STEP_STARTED, run_id=run_id, sequence=3, current_step="plan"))
        handle(envelope(DETAIL_STEP_STARTED, run_id=run_id, sequence=4, current_step="cost"))
    assert run_statuses(fake) == statuses
    assert len(fake.thread_bodies(REPO, 9)) == 1  # one comment, at the end


def test_each_step_costs_one_status_write(
    controller: Controller, fake: FakeGitHub, github: GitHub
) -> None:
    services = services_on(controller, github)
    run_id = dispatched_run(services)
    handle = services.runner_events.handle
    handle(envelope(DETAIL_RUN_STARTED, run_id=run_id, sequence=1, status="running"))
    for sequence, step in enumerate(["init", "init", "plan", "plan", "cost"], start=2):
        handle(envelope(DETAIL_STEP_STARTED, run_id=run_id, sequence=sequence, current_step=step))
    handle(envelope(DETAIL_RUN_FINISHED, run_id=run_id, sequence=9, status="succeeded"))
    assert run_statuses(fake)[:-1] == [
        ("pending", f"terraform-plan: running ({step})") for step in ("init", "plan", "cost")
    ]
    assert run_statuses(fake)[-1][0] == "success"
