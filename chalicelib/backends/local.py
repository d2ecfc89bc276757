"""Local backend: the runner as a subprocess (``python -m runners run --job FILE``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from chalicelib.backends.base import DispatchError, RunnerRef, RunnerState
from chalicelib.jobs import JobSpec

REPO_ROOT = Path(__file__).resolve().parents[2]


class LocalBackend:
    """Writes the job to ``jobs_dir/<run_id>.json`` and starts the runner on it.

    The runner's output goes to ``jobs_dir/<run_id>.log``. Processes started here are
    tracked for ``status``; after a controller restart a pid is only known alive or gone.
    """

    name = "local"

    def __init__(
        self,
        jobs_dir: str | Path = ".maestro/jobs",
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        self.jobs_dir = Path(jobs_dir)
        self.env = dict(os.environ if env is None else env)
        self.python = python
        self._procs: dict[str, subprocess.Popen] = {}
        self._cancelled: set[str] = set()

    @classmethod
    def from_settings(cls, settings) -> LocalBackend:
        base = Path(settings.local_data_dir or ".maestro")
        return cls(base / "jobs")

    def start(self, job: JobSpec) -> RunnerRef:
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        job_file = self.jobs_dir / f"{job.run_id}.json"
        job_file.write_text(job.model_dump_json(indent=2))
        env = {**self.env, "PYTHONPATH": _pythonpath(self.env)}
        try:
            with (self.jobs_dir / f"{job.run_id}.log").open("ab") as log:
                proc = subprocess.Popen(
                    [self.python, "-m", "runners", "run", "--job", str(job_file)],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # cancel kills the runner and its terraform
                )
        except OSError as exc:
            raise DispatchError(f"cannot start the local runner: {exc}") from exc
        self._procs[str(proc.pid)] = proc
        return RunnerRef(backend=self.name, id=str(proc.pid))

    def status(self, ref: RunnerRef) -> RunnerState:
        proc = self._procs.get(ref.id)
        if proc is None:
            return "running" if _alive(int(ref.id)) else "unknown"
        code = proc.poll()
        if code is None:
            return "running"
        if ref.id in self._cancelled:
            return "stopped"
        return "succeeded" if code == 0 else "failed"

    def cancel(self, ref: RunnerRef) -> None:
        self._cancelled.add(ref.id)
        # Already gone: cancelling a finished job is not an error.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(ref.id), signal.SIGTERM)
        proc = self._procs.get(ref.id)
        if proc is not None:
            proc.wait(timeout=30)

    def wait(self, ref: RunnerRef, timeout: float | None = None) -> RunnerState:
        """Block until the runner exits (local mode and tests only)."""
        proc = self._procs.get(ref.id)
        if proc is not None:
            proc.wait(timeout=timeout)
        return self.status(ref)


def _pythonpath(env: Mapping[str, str]) -> str:
    parts = [str(REPO_ROOT), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    return os.pathsep.join(parts)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
