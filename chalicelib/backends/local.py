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

# What the runner gets of the controller's environment: never the whole of it. The controller
# holds the webhook secret, the API token and Git credentials; the runner executes code from
# pull requests. Names, then prefixes (LC_* locale, AWS_* the runner's identity and
# endpoints, TF_*/ANSIBLE_* tool settings), then the runner's own settings.
RUNNER_ENV_NAMES = frozenset(
    {
        "PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "USER", "LOGNAME", "TERM",
        "CHECKPOINT_DISABLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy",
        "https_proxy", "no_proxy", "DOCKER_HOST", "XDG_RUNTIME_DIR", "XDG_DATA_DIRS",
        "MAESTRO_TF_PLUGIN_DIR", "MAESTRO_TF_PROVIDER_MIRRORS", "MAESTRO_TF_MIRROR_SEARCH_ROOTS",
        "MAESTRO_AWS_PROVIDER_MIRROR", "MAESTRO_HEARTBEAT_SECONDS", "MAESTRO_REGISTRY",
        "MAESTRO_TERRAFORM", "MAESTRO_TOOL_ENV",
    }
)  # fmt: skip
RUNNER_ENV_PREFIXES = ("LC_", "AWS_", "TF_", "ANSIBLE_")
ENV_GIT_TOKEN = "MAESTRO_GIT_TOKEN"  # runners.workspace reads it: only for an https clone
ENV_INFRACOST_KEY = "INFRACOST_API_KEY"  # only for a job with a cost step


def runner_env(env: Mapping[str, str], job: JobSpec, home: Path) -> dict[str, str]:
    """The runner's environment for ``job``: the allow-list, ``HOME`` in the run's own
    folder, the shared caches where they were, and a secret only for a job that needs it."""
    from runners.process import operator_listed  # the runner's own rule for tools

    listed = operator_listed(env)
    chosen = {
        name: value
        for name, value in env.items()
        if name in RUNNER_ENV_NAMES or name.startswith(RUNNER_ENV_PREFIXES) or listed(name)
    }
    old_home = Path(env.get("HOME") or Path.home())
    chosen.update(
        HOME=str(home),
        # Provider plugin directories and mirrors stay shared between runs.
        XDG_CACHE_HOME=env.get("XDG_CACHE_HOME") or str(old_home / ".cache"),
        XDG_DATA_HOME=env.get("XDG_DATA_HOME") or str(old_home / ".local" / "share"),
        PYTHONPATH=_pythonpath(env),
    )
    if job.clone_url.startswith("https://") and env.get(ENV_GIT_TOKEN):
        chosen[ENV_GIT_TOKEN] = env[ENV_GIT_TOKEN]
    if any(step.kind == "cost_estimate" for step in job.steps) and env.get(ENV_INFRACOST_KEY):
        chosen[ENV_INFRACOST_KEY] = env[ENV_INFRACOST_KEY]
    return chosen


def _private_file(path: Path, data: bytes = b"") -> int:
    """Create (or empty) ``path`` readable by this user only; returns the open descriptor."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.write(fd, data)
    return fd


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
        self.jobs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        job_file = self.jobs_dir / f"{job.run_id}.json"  # may hold secrets: this user only
        os.close(_private_file(job_file, job.model_dump_json(indent=2).encode()))
        home = self.jobs_dir / f"{job.run_id}.home"
        home.mkdir(mode=0o700, exist_ok=True)
        env = runner_env(self.env, job, home)
        from runners.process import hide_environment  # the runner's own guard, shared

        hide_environment()
        log_path = self.jobs_dir / f"{job.run_id}.log"
        if not log_path.exists():
            os.close(_private_file(log_path))
        try:
            with log_path.open("ab") as log:
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
