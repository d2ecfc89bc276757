"""Run a job's steps in order, record each step's result, report, stop at the first failure."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from chalicelib.jobs import (
    DETAIL_RUN_FINISHED,
    DETAIL_RUN_STARTED,
    DETAIL_STEP_FINISHED,
    DETAIL_STEP_STARTED,
    JobSpec,
    RunOutcome,
    StepResult,
    StepSpec,
    StepStatus,
)
from runners.artifacts import ArtifactStore, store_for
from runners.context import RunContext, StepOutcome
from runners.exceptions import StepFailedError, StepSkippedError
from runners.process import (
    DEFAULT_LOG_SHIP_SECONDS,
    ENV_LOG_SHIP_SECONDS,
    LogShipper,
    ProcessRunner,
)
from runners.report import Heartbeat, Reporter, sink_for
from runners.steps import StepFunction, step_functions
from runners.workspace import checkout

ENV_HEARTBEAT = "MAESTRO_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT_SECONDS = 30.0


class Executor:
    """Runs one job. Reporter, store and environment are injectable for tests."""

    def __init__(
        self,
        job: JobSpec,
        reporter: Reporter | None = None,
        store: ArtifactStore | None = None,
        env: dict[str, str] | None = None,
        steps: dict[str, StepFunction] | None = None,
        echo: bool = True,
    ) -> None:
        self.job = job
        self.env = dict(os.environ if env is None else env)
        self.reporter = reporter or Reporter(
            job.run_id, sink_for(job.callback), job.callback.source
        )
        self.store = store or store_for(job.artifact_prefix)
        self.steps = steps or step_functions()
        self.echo = echo
        self.heartbeat = float(self.env.get(ENV_HEARTBEAT, DEFAULT_HEARTBEAT_SECONDS))
        self.log_interval = float(self.env.get(ENV_LOG_SHIP_SECONDS, DEFAULT_LOG_SHIP_SECONDS))

    def run(self, scratch: Path | None = None) -> int:
        """Execute the job; returns the process exit code (0 succeeded, 1 failed)."""
        if scratch is None:
            with tempfile.TemporaryDirectory(prefix="maestro-run-") as tmp:
                return self.run(Path(tmp))
        self.reporter.emit(DETAIL_RUN_STARTED, status="running")
        ctx = RunContext(self.job, scratch / "repo", scratch, self.store, self.reporter, self.env)
        try:
            with self._shipper("checkout") as shipper:
                proc = self._proc("checkout", ctx, shipper)
                checkout(self.job.clone_url, self.job.sha, ctx.repo_dir, proc)
        except StepFailedError as exc:
            self._finish(ctx, "failed", failed_step="checkout", reason=exc.reason)
            return 1
        artifacts: dict[str, str] = {}
        results: list[StepResult] = []
        for step in self.job.steps:
            result = self._run_step(ctx, step)
            results.append(result)
            artifacts.update(result.artifacts)
            self.reporter.emit(
                DETAIL_STEP_FINISHED, status="running", step=result, **ctx.event_fields
            )
            if result.status == "failed":
                self._finish(ctx, "failed", artifacts, failed_step=step.name)
                return 1
        outcome, why = run_outcome(results)
        self._finish(ctx, "succeeded", artifacts, outcome=outcome, outcome_reason=why)
        return 0

    def _proc(self, name: str, ctx: RunContext, shipper: LogShipper) -> ProcessRunner:
        log_path = ctx.scratch / "logs" / f"{name}.log"
        return ProcessRunner(log_path, self.env, echo=self.echo, shipper=shipper)

    def _shipper(self, name: str) -> LogShipper:
        """The step's log in chunks while it runs (``GET /runs/{id}/logs``)."""
        return LogShipper(self.store.put_bytes, name, self.log_interval)

    def _run_step(self, ctx: RunContext, step: StepSpec) -> StepResult:
        # The live "running (step)" status only: an event lost here must not cost the step.
        with contextlib.suppress(Exception):
            self.reporter.emit(
                DETAIL_STEP_STARTED, status="running", current_step=step.name, **ctx.event_fields
            )
        with self._shipper(step.name) as shipper:
            proc = self._proc(step.name, ctx, shipper)
            return self._step_in(ctx, step, proc, shipper)

    def _step_in(
        self, ctx: RunContext, step: StepSpec, proc: ProcessRunner, shipper: LogShipper
    ) -> StepResult:
        started = time.monotonic()
        status: StepStatus = "succeeded"
        reason: str | None = None
        exit_code: int | None = 0
        outcome = StepOutcome()
        if self.echo:
            print(f"==> step {step.name} ({step.kind})", flush=True)
        try:
            with Heartbeat(self.reporter, self.heartbeat, lambda: dict(ctx.event_fields)):
                outcome = self.steps[step.kind](ctx, step, proc)
            reason = outcome.reason
        except StepSkippedError as exc:
            status, reason, exit_code = "skipped", exc.reason, None
        except StepFailedError as exc:
            status, reason, exit_code = "failed", exc.reason, exc.exit_code
        except Exception as exc:
            status, reason, exit_code = "failed", f"{type(exc).__name__}: {exc}", None
        result = StepResult(
            name=step.name,
            kind=step.kind,
            status=status,
            exit_code=exit_code,
            reason=reason,
            log_tail=_tail(proc.log_path),
            duration_seconds=round(time.monotonic() - started, 3),
            artifacts=dict(outcome.artifacts),
        )
        shipper.close()  # the marker before the result: a reader seeing the result sees it all
        return self._store_result(result, proc.log_path)

    def _store_result(self, result: StepResult, log_path: Path) -> StepResult:
        """Upload the step's log and its result document; both are artifacts of the step."""
        if log_path.exists():
            result.artifacts[f"log:{result.name}"] = self.store.put_file(
                f"logs/{result.name}.log", log_path
            )
        uri = f"{self.store.prefix.rstrip('/')}/results/{result.name}.json"
        result.artifacts[f"result:{result.name}"] = uri
        self.store.put_bytes(f"results/{result.name}.json", result.model_dump_json().encode())
        return result

    def _finish(
        self,
        ctx: RunContext,
        status: str,
        artifacts: dict[str, str] | None = None,
        failed_step: str | None = None,
        reason: str | None = None,
        **facts: str | None,
    ) -> None:
        self.reporter.emit(
            DETAIL_RUN_FINISHED,
            status=status,
            failed_step=failed_step,
            reason=reason,
            **facts,
            artifacts=artifacts or {},
            outputs=ctx.outputs,
            **ctx.event_fields,
        )


# Steps that only prepare for the others: a run whose every other step was skipped did nothing.
PREPARATION_KINDS = frozenset({"terraform_init", "terraform_output", "inventory"})


def run_outcome(results: list[StepResult]) -> tuple[RunOutcome, str | None]:
    """``nothing-done`` and why when every acting step of a successful run was skipped.

    >>> skipped = StepResult(name="deploy", kind="compose_deploy", status="skipped",
    ...                      reason="no container engine")
    >>> run_outcome([skipped])
    ('nothing-done', 'deploy skipped: no container engine')
    """
    acting = [r for r in results if r.kind not in PREPARATION_KINDS]
    if not acting or any(r.status != "skipped" for r in acting):
        return "done", None
    skipped = [r for r in results if r.status == "skipped"]
    return "nothing-done", "; ".join(
        f"{r.name} skipped: {r.reason or 'no reason'}" for r in skipped
    )


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "".join(path.read_text(errors="replace").splitlines(keepends=True)[-lines:])
