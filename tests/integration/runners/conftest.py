"""Helpers for the runner's integration tests: a git repository from a fixture, a job, a run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from chalicelib.jobs import Callback, JobSpec, StepSpec
from runners.executor import Executor
from runners.plugins import ensure_plugin_dir

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "runners"


def git(repo: Path, *args: str) -> str:
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    done = subprocess.run(["git", *ident, "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Workbench:
    """A source repository, the run events directory and the artifacts root of one test."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.repo = root / "repo"
        self.events = root / "events"
        self.artifacts = root / "artifacts"
        self.env = env
        self.repo.mkdir()
        git(self.repo, "init", "-q")

    def commit(self, fixture: str, dest: str = ".", message: str = "change") -> str:
        """Copy a fixture folder into the repository and commit; returns the sha."""
        shutil.copytree(FIXTURES / fixture, self.repo / dest, dirs_exist_ok=True)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "-m", message)
        return git(self.repo, "rev-parse", "HEAD")

    def write_and_commit(self, path: str, text: str) -> str:
        (self.repo / path).write_text(text)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "-m", f"edit {path}")
        return git(self.repo, "rev-parse", "HEAD")

    def job(self, run_id: str, sha: str, steps: list[tuple[str, str, dict]], **extra) -> JobSpec:
        fields = {
            "pipeline": "terraform-plan",
            "repo": "acme/infra",
            "clone_url": str(self.repo),
            "run_number": 1,
            "artifact_prefix": (self.artifacts / run_id).as_uri() + "/",
            "callback": Callback(local_dir=str(self.events)),
            **extra,
        }
        steps_ = [StepSpec(name=n, kind=k, params=p) for n, k, p in steps]
        return JobSpec(run_id=run_id, sha=sha, steps=steps_, **fields)

    def run(self, job: JobSpec) -> int:
        return Executor(job, env=self.env, echo=False).run(self.root / f"scratch-{job.run_id}")

    def events_of(self, run_id: str) -> list[dict]:
        files = sorted((self.events / run_id).glob("*.json"))
        return [json.loads(f.read_text()) for f in files]

    def finished(self, run_id: str) -> dict:
        last = self.events_of(run_id)[-1]
        assert last["detail-type"] == "MaestrOps Run Finished"
        return last["detail"]

    def steps_of(self, run_id: str) -> dict[str, dict]:
        return {
            e["detail"]["step"]["name"]: e["detail"]["step"]
            for e in self.events_of(run_id)
            if e["detail-type"] == "MaestrOps Step Finished"
        }


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory) -> Path:
    return ensure_plugin_dir(tmp_path_factory.mktemp("plugins"))


@pytest.fixture
def bench(tmp_path: Path, plugin_dir: Path) -> Workbench:
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("# no provider installation from the network in tests\n")
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "MAESTRO_TF_PLUGIN_DIR": str(plugin_dir),
        "MAESTRO_HEARTBEAT_SECONDS": "0.2",
        "CHECKPOINT_DISABLE": "1",
    }
    return Workbench(tmp_path, env)
