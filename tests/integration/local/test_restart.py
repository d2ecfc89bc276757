"""Local mode survives a restart: the controller stopped and started again on the same data
dir finds its runs, run numbers, delivery records, leases and queued work, and records what
a runner reported while it was down.

In-process: the controller is torn down (HTTP server, loop, moto, SQLite handles closed)
and built again on the same data dir, as ``maestro serve`` restarting does; the subprocess
version with real signals is ``test_serve_signals.py``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cli.client import RunsApiClient
from chalicelib.cli.main import post_webhook
from chalicelib.jobs import DETAIL_RUN_FINISHED, DETAIL_RUN_STARTED
from chalicelib.local.aws import free_port
from chalicelib.local.controller import LocalController
from chalicelib.local.payloads import pull_request_payload, push_payload
from runners.report import DirectorySink, Reporter
from tests.gitrepo import commit_files

REPO = "acme/infra"


class Session:
    """One life of the controller on ``data_dir``."""

    def __init__(self, data_dir: Path, loop: bool = True) -> None:
        self.controller = LocalController(port=free_port(), data_dir=data_dir).start(loop=loop)
        self.client = RunsApiClient(self.controller.url, self.controller.api_token)

    def send(self, event: str, payload: dict[str, Any], delivery: str) -> int:
        body = json.dumps(payload).encode()
        status, _ = post_webhook(
            self.controller.url, event, body, self.controller.webhook_secret, delivery
        )
        return status

    def runs(self) -> list[dict[str, Any]]:
        return list(self.client.iter_runs(limit=100))

    def wait(self, check: Callable[[list[dict[str, Any]]], bool], what: str) -> list[dict]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = self.runs()
            if check(runs):
                return runs
            time.sleep(0.1)
        pytest.fail(f"not within 60 s: {what}; runs: {self.runs()}")

    def run_of(self, delivery: str, runs: list[dict] | None = None) -> dict[str, Any] | None:
        found = [r for r in runs or self.runs() if r.get("delivery_id") == delivery]
        return found[0] if found else None

    def lease(self) -> Any:
        from chalicelib.services import get_services

        leases = get_services().locks.find(REPO)
        assert len(leases) == 1
        return leases[0]

    def stop(self) -> None:
        if self.controller.aws is not None:
            self.controller.aws.forget()  # as a new process would: nothing kept in moto
        self.controller.stop()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    saved = dict(os.environ)
    monkeypatch.setenv("MAESTRO_REPOS_DIR", str(tmp_path / "repos"))
    monkeypatch.setenv("MAESTRO_RUNNER_BACKEND", "recording")  # runs stay dispatched
    monkeypatch.setenv("MAESTRO_ALLOWED_REPOS", "acme/*")
    for name in ("MAESTRO_WEBHOOK_SECRET", "MAESTRO_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)  # the data dir keeps them
    yield tmp_path / "data"
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def shas(tmp_path: Path) -> list[str]:
    repo_dir = tmp_path / "repos" / REPO
    return [commit_files(repo_dir, {"main.tf": f"# {n}\n"}) for n in range(4)]


def has(*deliveries: str) -> Callable[[list[dict]], bool]:
    return lambda runs: {d for d in deliveries} <= {r.get("delivery_id") for r in runs}


def test_runs_counters_deliveries_and_leases_survive_a_restart(
    data_dir: Path, shas: list[str]
) -> None:
    first = Session(data_dir)
    try:
        assert first.send("push", push_payload(REPO, "infra_features", shas[0]), "p1") == 202
        assert first.send("push", push_payload(REPO, "infra_features", shas[1]), "p2") == 202
        opened = pull_request_payload(REPO, "opened", 1, "infra_features", "infra_main", shas[1])
        assert first.send("pull_request", opened, "pr1") == 202
        before = first.wait(has("p1", "p2", "pr1"), "three runs")
        held = first.lease()
        secret, token = first.controller.webhook_secret, first.controller.api_token
    finally:
        first.stop()
    assert held.holder is not None and held.holder.pr == 1 and held.fencing_token >= 1

    second = Session(data_dir)
    try:
        # The same secret and token: GitHub's webhook and the scripts keep working.
        assert (second.controller.webhook_secret, second.controller.api_token) == (secret, token)
        assert _by_id(second.runs()) == _by_id(before)
        # A redelivery of a delivery seen before the restart is answered, not run again; a
        # new delivery of the same repository, queued behind it, proves it was looked at.
        assert second.send("push", push_payload(REPO, "infra_features", shas[0]), "p1") == 200
        assert second.send("push", push_payload(REPO, "infra_features", shas[2]), "p3") == 202
        after = second.wait(has("p3"), "the new push's run")
        assert len(after) == len(before) + 1
        numbers = [second.run_of(d, after)["run_number"] for d in ("p1", "p2", "p3")]
        assert numbers == [1, 2, 3]  # not back to 1
        # The lease and its token are where they were: PR 2 waits behind PR 1.
        assert second.lease() == held
        opened2 = pull_request_payload(REPO, "opened", 2, "infra_features", "infra_main", shas[3])
        assert second.send("pull_request", opened2, "pr2") == 202
        second.wait(has("pr2"), "PR 2's plan")
        waiting = second.wait(
            lambda runs: (second.run_of("pr2", runs) or {}).get("waiting_for") == 1,
            "PR 2's plan waiting for PR 1",
        )
        assert second.run_of("pr2", waiting)["fencing_token"] is None
        lease = second.lease()
        assert lease.holder.pr == 1 and lease.fencing_token == held.fencing_token
        assert [w.pr for w in lease.waiters] == [2]
    finally:
        second.stop()

    third = Session(data_dir)  # and once more: nothing drifts on the second restart
    try:
        assert len(third.runs()) == len(before) + 2
        assert third.lease().waiters[0].pr == 2
    finally:
        third.stop()


def test_work_queued_or_reported_while_down_is_done_after_a_restart(
    data_dir: Path, shas: list[str]
) -> None:
    first = Session(data_dir)
    try:
        assert first.send("push", push_payload(REPO, "infra_features", shas[0]), "v1") == 202
        dispatched = first.wait(has("v1"), "the first run")
        run_id = first.run_of("v1", dispatched)["id"]
        assert first.run_of("v1", dispatched)["status"] == "dispatched"
        first.controller.loop.stop()  # the webhook answers; nothing is dispatched any more
        assert first.send("push", push_payload(REPO, "infra_features", shas[1]), "v2") == 202
        time.sleep(0.5)
        assert first.run_of("v2") is None
    finally:
        first.stop()

    # While the controller is down, the runner finishes and reports as local runners do.
    reporter = Reporter(run_id, DirectorySink(data_dir / "events"))
    reporter.emit(DETAIL_RUN_STARTED, status="running")
    reporter.emit(DETAIL_RUN_FINISHED, status="succeeded")

    second = Session(data_dir)
    try:
        runs = second.wait(
            lambda runs: has("v2")(runs) and second.run_of("v1", runs)["status"] == "succeeded",
            "the queued push run and the reported result",
        )
        assert second.run_of("v2", runs)["run_number"] == 2
        assert sorted(p.name for p in (data_dir / "events" / run_id).iterdir()) == [
            "000001.done",
            "000002.done",
        ]
        outbox = data_dir / "outbox" / REPO / "outbox.jsonl"
        statuses = [json.loads(line) for line in outbox.read_text().splitlines()]
        assert any(s.get("state") == "success" for s in statuses), statuses
    finally:
        second.stop()


def _by_id(runs: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {r["id"]: (r["status"], r["run_number"], r["delivery_id"]) for r in runs}


def test_a_write_budget_is_kept_on_disk_across_a_restart(
    data_dir: Path, shas: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.budget.state import BudgetScope
    from chalicelib.store.sqlite_budget import SqliteBudgetTable
    from chalicelib.store.sqlite_db import SqliteDatabase

    monkeypatch.setenv("MAESTRO_WRITE_BUDGET", "on")
    scope = BudgetScope(repo=REPO, pr=1)

    def stored() -> tuple[str, int] | None:
        return SqliteBudgetTable(SqliteDatabase(data_dir / "state" / "maestro.db")).get(scope)

    first = Session(data_dir)
    try:
        opened = pull_request_payload(REPO, "opened", 1, "infra_features", "infra_main", shas[0])
        assert first.send("pull_request", opened, "b1") == 202
        first.wait(has("b1"), "the plan run")
        first.wait(lambda runs: stored() is not None, "the PR's budget")
    finally:
        first.stop()
    state, version = stored() or ("", 0)
    assert json.loads(state)["sent"], "the budget counted the status it let through"

    second = Session(data_dir)
    try:
        synced = pull_request_payload(
            REPO, "synchronize", 1, "infra_features", "infra_main", shas[1]
        )
        assert second.send("pull_request", synced, "b2") == 202
        second.wait(has("b2"), "the second plan run")
        second.wait(lambda runs: (stored() or ("", 0))[1] > version, "the budget moving on")
        assert len(json.loads((stored() or ("{}", 0))[0])["sent"]) > len(json.loads(state)["sent"])
    finally:
        second.stop()


def test_runs_whose_local_runner_died_end_at_the_next_start_and_live_ones_do_not(
    data_dir: Path, shas: list[str]
) -> None:
    """``maestro serve`` stopped takes its runners down; started again, it ends their runs at
    once (an apply ``unknown``, lock kept; anything else failed), not at the reaper's timeout,
    and leaves a runner that still runs alone."""
    import subprocess

    from chalicelib.local.loop import LOCAL_RUNNER_GONE
    from chalicelib.runs.model import Run, RunStatus
    from chalicelib.services import get_services

    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen(["sleep", "120"])
    first = Session(data_dir, loop=False)
    try:
        store = get_services().store
        for name, pipeline, pid in (
            ("plan", "terraform-plan", dead.pid),
            ("apply", "terraform-apply", dead.pid),
            ("live", "terraform-plan", alive.pid),
        ):
            run = Run(id=f"run-{name}", repo=REPO, pipeline=pipeline, sha=shas[0], pr=1)
            store.create(run.model_copy(update={"backend": "local", "runner_ref": str(pid)}))
            store.transition(run.id, RunStatus.DISPATCHED)
            store.transition(run.id, RunStatus.RUNNING)
    finally:
        first.stop()
    try:
        for _ in range(2):  # and again on the same state: nothing more ends, nothing changes
            second = Session(data_dir)
            try:
                runs = second.wait(
                    lambda runs: (
                        {r["id"]: r["status"] for r in runs}
                        == {"run-plan": "failed", "run-apply": "unknown", "run-live": "running"}
                    ),
                    "the dead runners' runs ended, the live one left running",
                )
                ended = {r["id"]: r for r in runs}
                assert LOCAL_RUNNER_GONE in ended["run-plan"]["error"]
                assert LOCAL_RUNNER_GONE in ended["run-apply"]["error"]
            finally:
                second.stop()
    finally:
        alive.kill()
        alive.wait()
