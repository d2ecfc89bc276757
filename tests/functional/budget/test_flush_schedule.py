"""The ``flush_feedback`` schedule through the Chalice test client: moto for the budget, the
OpenAPI-checked fake GitHub for what reaches GitHub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.budget.state import BudgetLimits
from chalicelib.feedback.markers import thread_marker
from chalicelib.githost.base import CommitStatus
from chalicelib.githost.budgeted import BudgetedGitHost
from chalicelib.githost.github import GitHub
from chalicelib.githost.github_auth import TokenAuth
from chalicelib.githost.http import GitHubHttp
from chalicelib.githost.local import LocalGitHost
from chalicelib.services import Services, set_services
from tests.functional.budget.conftest import BudgetAws
from tests.functional.conftest import Controller
from tests.functional.github.fake_github import FakeGitHub
from tests.functional.github.openapi_check import OpenApiChecker

REPO = "acme/infra"
SHA = "0a3087a6c1d2e3f405162738495a6b7c8d9e0f1a"
PUSH_SHA = "1b4198b7d2e3f4051627384950a6b7c8d9e0f1a2"


@pytest.fixture(scope="module")
def checker() -> OpenApiChecker:
    return OpenApiChecker()


@pytest.fixture
def fake(checker: OpenApiChecker) -> Iterator[FakeGitHub]:
    server = FakeGitHub(checker, app_id="1", app_public_key="unused").start()
    server.personal_tokens.add("ghp_budget")
    yield server
    server.stop()
    assert server.violations == [], "requests GitHub's OpenAPI description does not allow"


@pytest.fixture
def budgeted(budget_aws: BudgetAws, fake: FakeGitHub) -> Iterator[BudgetedGitHost]:
    http = GitHubHttp(
        auth=TokenAuth(lambda: "ghp_budget"),
        base_url=fake.url,
        sleep=lambda seconds: None,
        clock=budget_aws.clock,
    )
    # Three writes a minute: the same code path as 80, in a few requests.
    ledger = budget_aws.ledger(BudgetLimits(per_minute=3, per_hour=50))
    host = BudgetedGitHost(GitHub(http), ledger)
    set_services(Services(budget_aws.settings, budgeted_githost=host))
    yield host
    set_services(None)


def flush(client: Client) -> None:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    client.lambda_.invoke("flush_feedback", event)


def body(thread: str, text: str) -> str:
    return f"{thread_marker(thread)}\n{text}"


def status(state: str, description: str) -> CommitStatus:
    return CommitStatus(context="maestrops/plan", state=state, description=description)  # type: ignore[arg-type]


def test_the_schedule_sends_what_waited_latest_first_nothing_twice(
    budgeted: BudgetedGitHost, budget_aws: BudgetAws, fake: FakeGitHub
) -> None:
    start = budget_aws.clock.now
    budgeted.post_comment(REPO, 9, body("plan", "plan v1"), thread="plan")
    budgeted.set_status(REPO, SHA, status("pending", "planning"), pr=9)
    budgeted.post_comment(REPO, 9, body("cost", "cost v1"), thread="cost")
    # The minute is spent: these wait, the plan's updates coalesced into the latest.
    for version in (2, 3, 4):
        budgeted.post_comment(REPO, 9, body("plan", f"plan v{version}"), thread="plan")
    budgeted.set_status(REPO, SHA, status("success", "+3 ~1 -0"), pr=9)
    big = body("apply", "x" * 200_000)
    budgeted.post_comment(REPO, 9, big, thread="apply")
    budgeted.set_status(REPO, PUSH_SHA, status("success", "push"))  # no PR: not rate-limited

    assert fake.thread_bodies(REPO, 9) == [body("plan", "plan v1"), body("cost", "cost v1")]
    assert [s["description"] for s in fake.statuses] == ["planning", "push"]
    assert len(budget_aws.objects()) == 1  # the big body waits in S3

    with Client(app) as client:
        budget_aws.clock.now = start + 30
        flush(client)
        assert len(fake.thread_bodies(REPO, 9)) == 2  # nothing fits yet
        budget_aws.clock.now = start + 60
        flush(client)
        budget_aws.clock.now = start + 120
        flush(client)  # nothing left: nothing sent twice

    assert fake.thread_bodies(REPO, 9) == [body("plan", "plan v4"), body("cost", "cost v1"), big]
    assert [s["description"] for s in fake.statuses] == ["planning", "push", "+3 ~1 -0"]
    assert budget_aws.objects() == []
    item = budget_aws.item(f"{REPO}#9")
    assert item is not None and "gsi4pk" not in item
    posts = [r for r in fake.requests if r.method in ("POST", "PATCH")]
    assert len(posts) == 7  # 2 + 1 comments and 2 + 1 statuses, and the in-place PATCH


def _controller_services(controller: Controller, write_budget: str | None = None) -> Services:
    settings = controller.services.settings.model_copy(update={"write_budget": write_budget})
    return Services(settings, backends=controller.services.backends)


def test_the_switch_wraps_the_local_host_only_when_asked(controller: Controller) -> None:
    assert isinstance(_controller_services(controller).githost, LocalGitHost)  # local default
    with Client(app) as client:
        flush(client)  # budget off: the schedule has nothing to do

    services = _controller_services(controller, write_budget="on")
    host: Any = services.githost
    assert isinstance(host, BudgetedGitHost) and isinstance(host.inner, LocalGitHost)
    set_services(services)
    host.post_comment(REPO, 4, "hello", thread="plan")
    assert [r["body"] for r in _outbox(controller, REPO)] == ["hello"]
    with Client(app) as client:
        flush(client)  # nothing due; the pending index is queried on the real table


def _outbox(controller: Controller, repo: str) -> list[dict[str, Any]]:
    log = controller.outbox / repo / "outbox.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_github_is_budgeted_by_default(
    budget_aws: BudgetAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = budget_aws.settings.model_copy(
        update={"github_token_secret": "maestrops/github-token"}  # read lazily
    )
    host: Any = Services(settings).githost
    assert isinstance(host, BudgetedGitHost) and isinstance(host.inner, GitHub)
    off = settings.model_copy(update={"write_budget": "off"})
    assert isinstance(Services(off).githost, GitHub)
