"""A hostile repository's world: a source repository, a folder outside it, the run's folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from chalicelib.jobs import Callback, JobSpec, StepSpec
from runners.executor import Executor
from runners.plugins import ensure_plugin_dir
from tests.gitrepo import git
from tests.integration.security.tree import snapshot

NULL_STACK = Path(__file__).resolve().parents[2] / "fixtures" / "runners" / "terraform" / "null-ok"


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory) -> Path:
    return ensure_plugin_dir(tmp_path_factory.mktemp("plugins"))


class World:
    """``root/repo`` (the repository), ``root/outside`` (a folder a run must never touch),
    ``root/run`` (the run's own folder: scratch, events, artifacts, local state)."""

    def __init__(self, root: Path, plugin_dir: Path) -> None:
        self.root = root
        self.repo = root / "repo"
        self.outside = root / "outside"
        self.run_dir = root / "run"
        self.repo.mkdir()
        git(self.repo, "init", "-q", "-b", "main")
        shutil.copytree(NULL_STACK, self.outside)  # a valid stack, as bait
        (root / "terraformrc").write_text("# no provider installation from the network\n")
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(root / "run" / "home"),
            "TF_CLI_CONFIG_FILE": str(root / "terraformrc"),
            "MAESTRO_TF_PLUGIN_DIR": str(plugin_dir),
            "MAESTRO_HEARTBEAT_SECONDS": "5",
            "CHECKPOINT_DISABLE": "1",
        }

    def commit(
        self, files: dict[str, str] | None = None, links: dict[str, str] | None = None
    ) -> str:
        for name, text in (files or {}).items():
            path = self.repo / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        for name, target in (links or {}).items():
            path = self.repo / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(target)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "-m", "change")
        return git(self.repo, "rev-parse", "HEAD")

    def commit_stack(self, folder: str = "terraform/infra") -> str:
        files = {f"{folder}/{p.name}": p.read_text() for p in NULL_STACK.glob("*.tf")}
        return self.commit(files)

    def job(self, sha: str, steps: list[tuple[str, str, dict]], **extra) -> JobSpec:
        fields = {
            "run_id": "run-1",
            "pipeline": "terraform-plan",
            "repo": "acme/infra",
            "clone_url": str(self.repo),
            "run_number": 1,
            "working_dir": "terraform/infra",
            "artifact_prefix": (self.run_dir / "artifacts").as_uri() + "/",
            "callback": Callback(local_dir=str(self.run_dir / "events")),
            **extra,
        }
        steps_ = [StepSpec(name=n, kind=k, params=p) for n, k, p in steps]
        return JobSpec(sha=sha, steps=steps_, **fields)

    def run(self, job: JobSpec) -> int:
        return Executor(job, env=self.env, echo=False).run(self.run_dir / "scratch")

    def outside_the_run(self) -> dict[str, str]:
        """Everything but the run's own folder: the repository, the bait, the rest."""
        return {k: v for k, v in snapshot(self.root).items() if not k.startswith("run")}

    def events(self) -> list[dict]:
        files = sorted((self.run_dir / "events" / "run-1").glob("*.json"))
        return [json.loads(f.read_text()) for f in files]

    def finished(self) -> dict:
        return self.events()[-1]["detail"]

    def reason(self) -> str:
        """Why the run stopped: the failed step's reason, or the run's own."""
        done = self.finished()
        for event in self.events():
            step = event["detail"].get("step") or {}
            if step.get("name") == done.get("failed_step") and step.get("reason"):
                return str(step["reason"])
        return str(done.get("reason"))


@pytest.fixture
def world(tmp_path: Path, plugin_dir: Path) -> World:
    return World(tmp_path, plugin_dir)
