"""The run store contract (``chalicelib.runs.store.RunStore``), DynamoDB and SQLite alike."""

from __future__ import annotations

import pytest

from chalicelib.runs.exceptions import (
    InvalidCursorError,
    RunExistsError,
    RunNotFoundError,
    TransitionConflictError,
)
from chalicelib.runs.model import Run, RunStatus
from chalicelib.runs.query import RunQuery
from tests.functional.store.conftest import Backend

REPO = "acme/infra"


def make_run(n: int, **fields: object) -> Run:
    values: dict[str, object] = {
        "id": f"run-{n:03d}",
        "repo": REPO,
        "pipeline": "terraform-plan",
        "sha": f"{n:040x}",
        "branch": "infra_features",
        "created_at": f"2026-11-30T08:{n // 60:02d}:{n % 60:02d}.000Z",
    }
    values.update(fields)
    return Run.model_validate(values)


def test_a_run_reads_back_whole_from_a_new_handle(runs: Backend) -> None:
    run = make_run(
        1,
        pr=7,
        run_number=3,
        outputs={"hosts": {"value": ["10.0.0.1"]}, "count": 2},
        steps=[{"name": "plan", "status": "succeeded", "seconds": 1.5}],
        cost={"monthly": "12.50"},
        artifacts={"plan": "s3://bucket/runs/run-001/plan.json"},
    )
    runs.open().create(run)
    assert runs.open().get(run.id) == run


def test_a_run_is_created_once(runs: Backend) -> None:
    store = runs.open()
    store.create(make_run(1))
    with pytest.raises(RunExistsError):
        store.create(make_run(1, status=RunStatus.RUNNING))
    assert store.get("run-001").status == RunStatus.QUEUED


def test_an_unknown_run_is_not_found_for_reads_and_writes(runs: Backend) -> None:
    store = runs.open()
    with pytest.raises(RunNotFoundError):
        store.get("run-404")
    with pytest.raises(RunNotFoundError):
        store.transition("run-404", RunStatus.DISPATCHED)
    with pytest.raises(RunNotFoundError):
        store.update_fields("run-404", error="x")


def test_run_numbers_only_grow_per_repository_and_pipeline(runs: Backend) -> None:
    first = runs.open()
    assert [first.next_run_number(REPO, "ci-application") for _ in range(3)] == [1, 2, 3]
    assert first.next_run_number(REPO, "terraform-plan") == 1
    assert first.next_run_number("acme/other", "ci-application") == 1
    assert runs.open().next_run_number(REPO, "ci-application") == 4  # a new handle goes on


def test_transitions_follow_the_state_machine_and_never_go_back(runs: Backend) -> None:
    store = runs.open()
    store.create(make_run(1))
    store.transition("run-001", RunStatus.DISPATCHED, backend="local", runner_ref="42")
    running = store.transition("run-001", RunStatus.RUNNING)
    assert running.started_at is not None and running.runner_ref == "42"
    done = store.transition("run-001", RunStatus.SUCCEEDED, finished_at="2026-11-30T09:00:00Z")
    assert done.status == RunStatus.SUCCEEDED and done.updated_at is not None
    with pytest.raises(TransitionConflictError, match="succeeded"):
        store.transition("run-001", RunStatus.RUNNING)
    with pytest.raises(TransitionConflictError):
        store.transition("run-001", RunStatus.CANCELLED)
    assert runs.open().get("run-001").status == RunStatus.SUCCEEDED


def test_a_late_or_repeated_event_is_refused_by_its_sequence(runs: Backend) -> None:
    store = runs.open()
    store.create(make_run(1, status=RunStatus.DISPATCHED))
    store.transition("run-001", RunStatus.RUNNING, min_sequence=5, heartbeat_at="t5")
    with pytest.raises(TransitionConflictError):
        store.transition("run-001", RunStatus.FAILED, min_sequence=3)  # older than seen
    with pytest.raises(TransitionConflictError):
        store.transition("run-001", RunStatus.FAILED, min_sequence=5)  # the same one again
    failed = store.transition("run-001", RunStatus.FAILED, min_sequence=6, error="boom")
    assert failed.event_sequence == 6 and failed.error == "boom"


def test_update_fields_records_facts_and_keeps_the_status(runs: Backend) -> None:
    store = runs.open()
    store.create(make_run(1, status=RunStatus.RUNNING))
    updated = store.update_fields(
        "run-001", artifacts={"plan": "file:///p"}, steps=[{"name": "init"}], error=None
    )
    assert updated.status == RunStatus.RUNNING
    again = runs.open().get("run-001")
    assert again.artifacts == {"plan": "file:///p"} and again.steps == [{"name": "init"}]


def test_a_second_writer_of_the_same_move_is_refused(runs: Backend) -> None:
    runs.open().create(make_run(1))
    first, second = runs.open(), runs.open()  # two containers that both saw "queued"
    first.transition("run-001", RunStatus.DISPATCHED, runner_ref="a")
    with pytest.raises(TransitionConflictError, match="dispatched"):
        second.transition("run-001", RunStatus.DISPATCHED, runner_ref="b")
    assert runs.open().get("run-001").runner_ref == "a"


@pytest.fixture
def history(runs: Backend) -> object:
    store = runs.open()
    plan = {"pipeline": "terraform-plan", "branch": "infra_features"}
    for n in range(1, 8):
        store.create(make_run(n, pr=3 if n % 2 else None, **plan))
    store.create(make_run(8, pipeline="ci-application", branch="integration"))
    store.create(make_run(9, repo="acme/app"))
    store.transition("run-002", RunStatus.DISPATCHED)
    store.transition("run-004", RunStatus.FAILED)
    return store


def ids(store: object, **filters: object) -> list[str]:
    """Every page of a query, followed through its cursors."""
    found: list[str] = []
    cursor = None
    while True:
        page = store.query(RunQuery(limit=2, cursor=cursor, **filters))  # type: ignore[attr-defined]
        found += [run.id for run in page.runs]
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def test_queries_filter_and_page_newest_first(history: object) -> None:
    assert ids(history, repo=REPO) == [f"run-{n:03d}" for n in range(8, 0, -1)]
    assert ids(history) == [f"run-{n:03d}" for n in range(9, 0, -1)]
    assert ids(history, repo=REPO, pr=3) == ["run-007", "run-005", "run-003", "run-001"]
    assert ids(history, repo=REPO, pipeline="ci-application") == ["run-008"]
    assert ids(history, status="failed") == ["run-004"]
    assert ids(history, repo=REPO, status="dispatched") == ["run-002"]
    assert ids(history, repo=REPO, branch="integration") == ["run-008"]
    assert ids(history, repo=REPO, since="2026-11-30T08:00:06.000Z") == [
        "run-008",
        "run-007",
        "run-006",
    ]


def test_a_cursor_is_bound_to_its_query(history: object) -> None:
    page = history.query(RunQuery(repo=REPO, limit=2))  # type: ignore[attr-defined]
    assert page.next_cursor is not None
    with pytest.raises(InvalidCursorError):
        history.query(RunQuery(repo="acme/app", limit=2, cursor=page.next_cursor))  # type: ignore[attr-defined]


def test_runs_in_status_finds_every_one(history: object) -> None:
    found = history.runs_in_status([RunStatus.QUEUED, RunStatus.FAILED])  # type: ignore[attr-defined]
    assert sorted(run.id for run in found) == sorted(
        f"run-{n:03d}" for n in (1, 3, 4, 5, 6, 7, 8, 9)
    )
    assert history.runs_in_status([RunStatus.SUCCEEDED]) == []  # type: ignore[attr-defined]
