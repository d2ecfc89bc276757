"""The local backend starts the real runner as a subprocess; its events land in a directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from chalicelib.backends.base import RunnerRef
from chalicelib.backends.local import LocalBackend
from chalicelib.jobs import Callback, JobSpec, StepSpec
from runners.plugins import ensure_plugin_dir

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "runners" / "terraform"


def repo_with(tmp_path: Path, fixture: str) -> tuple[Path, str]:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / fixture, repo)
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "stack"]):
        subprocess.run(["git", *ident, "-C", str(repo), *args], check=True)
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    return repo, sha


def make(tmp_path: Path, fixture: str, run_id: str, steps: list[StepSpec]):
    repo, sha = repo_with(tmp_path, fixture)
    (tmp_path / "terraformrc").write_text("")
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(tmp_path / "terraformrc"),
        "MAESTRO_TF_PLUGIN_DIR": str(ensure_plugin_dir(tmp_path / "plugins")),
        "MAESTRO_HEARTBEAT_SECONDS": "0.2",
    }
    job = JobSpec(
        run_id=run_id, pipeline="terraform-apply", repo="acme/infra", clone_url=str(repo),
        sha=sha, run_number=1, steps=steps,
        artifact_prefix=(tmp_path / "artifacts" / run_id).as_uri() + "/",
        callback=Callback(local_dir=str(tmp_path / "events")),
    )  # fmt: skip
    return LocalBackend(tmp_path / "jobs", env=env), job


def events(tmp_path: Path, run_id: str) -> list[dict]:
    files = sorted((tmp_path / "events" / run_id).glob("*.json"))
    return [json.loads(f.read_text()) for f in files]


def test_runner_subprocess_succeeds_and_reports(tmp_path):
    steps = [
        StepSpec(name="init", kind="terraform_init"),
        StepSpec(name="plan", kind="terraform_plan"),
        StepSpec(name="apply", kind="terraform_apply"),
        StepSpec(name="output", kind="terraform_output"),
    ]
    backend, job = make(tmp_path, "null-ok", "local-1", steps)
    ref = backend.start(job)
    assert ref.backend == "local" and backend.status(ref) in ("running", "succeeded")
    assert backend.wait(ref, timeout=120) == "succeeded"
    finished = events(tmp_path, "local-1")[-1]
    assert finished["detail-type"] == "MaestrOps Run Finished"
    assert finished["detail"]["status"] == "succeeded"
    assert finished["detail"]["outputs"]["domain"] == "example.com"
    assert "==> step apply" in (tmp_path / "jobs" / "local-1.log").read_text()
    backend.cancel(ref)  # finished already: not an error


def test_cancel_mid_apply_leaves_the_serial_before_on_record(tmp_path):
    steps = [
        StepSpec(name="init", kind="terraform_init"),
        StepSpec(name="plan", kind="terraform_plan"),
        StepSpec(name="apply", kind="terraform_apply"),
    ]
    backend, job = make(tmp_path, "slow-apply", "local-2", steps)
    ref = backend.start(job)
    log = tmp_path / "jobs" / "local-2.log"
    deadline = time.monotonic() + 60
    while "Provisioning with 'local-exec'" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the apply never started"
        time.sleep(0.1)
    backend.cancel(ref)
    assert backend.status(ref) == "stopped"
    seen = events(tmp_path, "local-2")
    types = [e["detail-type"] for e in seen]
    plan_done = next(
        i for i, e in enumerate(seen) if (e["detail"].get("step") or {}).get("name") == "plan"
    )
    # The runner died mid-apply: no "Run Finished" and no apply result (only the apply's
    # "Step Started"); what the controller heard last is the heartbeat naming the serial the
    # apply started from (empty state).
    assert "MaestrOps Run Finished" not in types
    after_plan = types[plan_done + 1 :]
    assert "MaestrOps Run Heartbeat" in after_plan
    assert set(after_plan) <= {"MaestrOps Run Heartbeat", "MaestrOps Step Started"}
    assert seen[-1]["detail-type"] == "MaestrOps Run Heartbeat"
    assert seen[-1]["detail"]["state_serial_before"] is None
    assert seen[-1]["detail"]["status"] == "running"


def test_status_of_a_pid_this_backend_did_not_start(tmp_path):
    backend = LocalBackend(tmp_path)
    assert backend.status(RunnerRef(backend="local", id=str(os.getpid()))) == "running"
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert backend.status(RunnerRef(backend="local", id=str(gone.pid))) == "unknown"
