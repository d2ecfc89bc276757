"""The run pages in headless Chromium (playwright-core, axe-core) against ``maestro serve``.

``maestro serve`` signs users in through the fake GitHub on loopback. The test seeds runs and
a lock into serve's own SQLite state, then plays the runner for one step: it writes the
step's log chunks under the run's artifact prefix (the layout runners ship) while the
browser follows the log page, and ends the step. The browser script reports every check;
the run page's screenshot goes to docs/run-page.png for the README.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.jobs import log_chunk_name, log_complete_name
from chalicelib.locks.lease import Claimant, Lease, LockKey
from chalicelib.pages.keys import local_session_key
from chalicelib.pages.session import SESSION_SECONDS, new_session, seal
from chalicelib.runs.model import Run, RunStatus
from chalicelib.store.sqlite_db import SqliteDatabase
from chalicelib.store.sqlite_locks import SqliteLockStore
from chalicelib.store.sqlite_runs import SqliteRunStore
from tests.functional.github.fake_github import FakeGitHub
from tests.functional.github.openapi_check import OpenApiChecker
from tests.integration.local.serving import running_serve

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("pages-e2e.mjs")
SCREENSHOT = ROOT / "docs" / "run-page.png"
REPO, HIDDEN = "octo-org/infra", "octo-org/secret"
CLIENT_ID, CLIENT_SECRET = "Iv1.e2e", "e2e-client-secret"
PLAN = """Plan: 1 to add, 1 to change, 0 to destroy.

  # aws_s3_bucket.logs will be created
  + resource "aws_s3_bucket" "logs" {
      + bucket = "octo-org-logs"
      + tags   = {
          + "team" = "platform"
        }
    }

  # aws_iam_role.deploy will be updated in-place
  ~ resource "aws_iam_role" "deploy" {
      ~ max_session_duration = 3600 -> 7200
        name                 = "deploy"
    }
"""


def chromium() -> str:
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not found:
        pytest.skip("Debian's chromium is not installed (scripts/setup/app.sh)")
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        pytest.skip("node_modules missing: npm install at the repository root (make setup)")
    return found


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    server = FakeGitHub(OpenApiChecker(), app_id="1", app_public_key="unused").start()
    for login, role in (("mona", "write"), ("hubot", "read")):
        server.permissions[(REPO, login)] = {"permission": role, "role_name": role}
    server.permissions[(HIDDEN, "hubot")] = {"permission": "read", "role_name": "read"}
    yield server
    server.stop()
    assert server.violations == [] and server.oauth_violations == []


def artifacts(data: Path, run_id: str) -> Path:
    return data / "artifacts" / "runs" / run_id


def seed(data: Path) -> tuple[SqliteRunStore, dict[str, str]]:
    store = SqliteRunStore(SqliteDatabase(data / "state" / "maestro.db"))
    done = artifacts(data, "run-e2e-done")
    done.mkdir(parents=True)
    (done / "plan-redacted.txt").write_text(PLAN)
    (done / "logs").mkdir()
    (done / "logs" / "plan.log").write_text("terraform plan\nPlan: 1 to add\n")
    done_run = Run(
        id="run-e2e-done",
        repo=REPO,
        pipeline="terraform-plan",
        sha="1" * 40,
        branch="feature/logs-bucket",
        pr=7,
        run_number=3,
        reason="pull request #7 opened",
        created_at="2026-11-29T10:00:00.000Z",
    )
    store.create(done_run)
    store.transition("run-e2e-done", RunStatus.RUNNING, started_at="2026-11-29T10:00:05.000Z")
    store.transition(
        "run-e2e-done",
        RunStatus.FAILED,
        finished_at="2026-11-29T10:01:35.000Z",
        error="plan: exit code 1",
        artifacts={"plan_redacted": (done / "plan-redacted.txt").as_uri()},
        steps=[
            {"name": "init", "status": "succeeded", "seconds": 12},
            {"name": "plan", "status": "failed", "seconds": 71, "reason": "exit code 1"},
        ],
    )
    for day, total in enumerate(["120.50", "131.00", "128.25", "150.75"]):
        store.create(Run(id=f"run-e2e-cost{day}", repo=REPO, pipeline="terraform-plan",
                         sha=f"{day}" * 40, created_at=f"2026-11-2{day}T09:00:00.000Z",
                         cost={"total_monthly_cost": total, "currency": "USD"}))  # fmt: skip
        store.transition(f"run-e2e-cost{day}", RunStatus.RUNNING)
        store.transition(f"run-e2e-cost{day}", RunStatus.SUCCEEDED)
    store.create(Run(id="run-e2e-live", repo=REPO, pipeline="terraform-plan", sha="2" * 40,
                     branch="main", pr=8, created_at="2026-11-30T10:00:00.000Z"))  # fmt: skip
    store.transition("run-e2e-live", RunStatus.RUNNING, live_step="plan",
                     steps=[{"name": "init", "status": "succeeded", "seconds": 3}])  # fmt: skip
    write_chunk(data, 0)
    store.create(Run(id="run-e2e-hidden", repo=HIDDEN, pipeline="terraform-plan", sha="3" * 40,
                     created_at="2026-11-30T11:00:00.000Z"))  # fmt: skip

    key = LockKey(repo=REPO, directory="stacks/network", workspace="default")
    now = time.time()

    def hold(lease: Lease, next_token: object) -> tuple[Lease, None]:
        waiter = Claimant(pr=8, run_id="run-e2e-waiting", since=now)
        holder = Claimant(pr=7, run_id="run-e2e-done", since=now)
        return lease.model_copy(update={"holder": holder, "expires_at": now + 3600,
                                        "fencing_token": 4, "waiters": [waiter]}), None  # fmt: skip

    SqliteLockStore(SqliteDatabase(data / "state" / "maestro.db")).change(key, hold)
    return store, {"RUN_LIVE": "run-e2e-live", "RUN_DONE": "run-e2e-done",
                   "RUN_HIDDEN": "run-e2e-hidden", "LOCK_ID": key.id}  # fmt: skip


def write_chunk(data: Path, seq: int) -> None:
    path = artifacts(data, "run-e2e-live") / log_chunk_name("plan", seq)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_text(f"chunk {seq} line 0\nchunk {seq} line 1\n")
    partial.rename(path)  # as the runner's file store does: a chunk appears whole


def play_runner(data: Path, store: SqliteRunStore, ready: Path, errors: list[str]) -> None:
    """Once the browser follows the log: two more chunks, the marker, the step's end."""
    deadline = time.monotonic() + 120
    while not ready.exists():
        if time.monotonic() > deadline:
            errors.append("the browser never started following the log")
            return
        time.sleep(0.1)
    write_chunk(data, 1)
    time.sleep(2.5)  # at least one poll sees the step still running between chunks
    write_chunk(data, 2)
    marker = artifacts(data, "run-e2e-live") / log_complete_name("plan")
    marker.write_text(json.dumps({"chunks": 3}))
    store.transition(
        "run-e2e-live",
        RunStatus.SUCCEEDED,
        live_step=None,
        steps=[
            {"name": "init", "status": "succeeded", "seconds": 3},
            {"name": "plan", "status": "succeeded", "seconds": 9},
        ],
    )


def test_run_pages_in_chromium(tmp_path: Path, fake: FakeGitHub) -> None:
    executable = chromium()
    settings = {
        "MAESTRO_OAUTH_CLIENT_ID": CLIENT_ID,
        "MAESTRO_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "MAESTRO_GITHUB_API_URL": fake.url,
        "MAESTRO_GITHUB_WEB_URL": fake.url,
    }
    with running_serve(tmp_path, settings) as env:
        base = env["MAESTRO_API_URL"]
        fake.oauth_apps[CLIENT_ID] = (CLIENT_SECRET, f"{base}/ui/oauth/callback")
        data = tmp_path / "data"
        store, ids = seed(data)
        old = new_session("mona", token="ghu_expired")
        expired = seal(local_session_key(str(data)), old, time.time() - SESSION_SECONDS - 60)
        ready, errors = tmp_path / "following", []
        runner = threading.Thread(target=play_runner, args=(data, store, ready, errors))
        runner.start()
        result = subprocess.run(
            ["node", str(SCRIPT)],
            cwd=ROOT,
            env={
                **os.environ,
                **ids,
                "BASE_URL": base,
                "GITHUB_URL": fake.url,
                "REPO": REPO,
                "CHROMIUM_PATH": executable,
                "READY_FILE": str(ready),
                "SCREENSHOT": str(SCREENSHOT),
                "EXPIRED_COOKIE": expired,
            },
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        runner.join(timeout=130)
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    print(json.dumps(outcome, indent=1))  # the axe findings and widths, in the test log
    assert outcome["problems"] == [] and outcome["ok"] is True, outcome
    assert errors == []
    checks = outcome["checks"]
    assert len(checks) >= 30 and all(checks.values()), checks
    assert set(outcome["axe"]) == {"runs", "run", "log", "costs", "locks", "login"}
    assert all(width <= 0 for width in outcome["overflow"].values()), outcome["overflow"]
    assert SCREENSHOT.stat().st_size > 10_000
    # Three users signed in through the web flow, each with a code used once.
    exchanges = [r for r in fake.requests if r.path == "/login/oauth/access_token"]
    assert len(exchanges) == 3 and fake.oauth_codes == {}
