"""What the steps of one run share: the job, the checkout, the artifact store, the reporter."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.jobs import JobSpec
from chalicelib.pipelines.config import ACTIONS_BACKEND
from runners.artifacts import ArtifactStore
from runners.report import Reporter

__all__ = ["ACTIONS_BACKEND", "RunContext", "StepOutcome"]


@dataclass
class RunContext:
    job: JobSpec
    repo_dir: Path  # the checkout
    scratch: Path  # files of this run outside the checkout (plan file, inventory, logs)
    store: ArtifactStore
    reporter: Reporter
    env: dict[str, str]
    outputs: dict[str, Any] = field(default_factory=dict)  # Terraform outputs (values)
    files: dict[str, Path] = field(default_factory=dict)  # plan, plan_json, inventory ...
    # Fields every heartbeat repeats, and that the step's own event carries (state serials).
    event_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def work_dir(self) -> Path:
        return (self.repo_dir / self.job.working_dir).resolve()

    @property
    def local_mode(self) -> bool:
        """Local mode: this machine is the stack's host. A GitHub Actions run also reports to
        a folder, but it plays Terraform, Ansible and deploys against AWS like CodeBuild."""
        return self.job.callback.local_dir is not None and self.job.backend != ACTIONS_BACKEND


@dataclass
class StepOutcome:
    artifacts: dict[str, str] = field(default_factory=dict)  # name -> URI
    reason: str | None = None  # a note on success (e.g. "no changes")
