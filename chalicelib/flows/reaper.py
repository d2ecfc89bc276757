"""The reaper: runs stuck past their pipeline's timeout become ``timed_out``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from chalicelib import metric_names
from chalicelib.backends.registry import BackendRegistry
from chalicelib.jobs import Pipeline
from chalicelib.observability import emit_metric
from chalicelib.runs.exceptions import TransitionConflictError
from chalicelib.runs.model import Run, RunStatus, utc_now
from chalicelib.runs.store import RunStore

STUCK_CANDIDATES = (RunStatus.QUEUED, RunStatus.DISPATCHED, RunStatus.RUNNING)
# Runners beat every 30 s; ten minutes of silence means the runner is gone.
HEARTBEAT_STALE = timedelta(minutes=10)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def is_overdue(run: Run, now: datetime) -> bool:
    started = _moment(run.started_at or run.created_at)
    return now - started > timedelta(minutes=run.timeout_minutes)


def is_silent(run: Run, now: datetime) -> bool:
    """A running run whose runner stopped sending heartbeats."""
    if run.status != RunStatus.RUNNING or not run.heartbeat_at:
        return False
    return now - _moment(run.heartbeat_at) > HEARTBEAT_STALE


def reap(
    store: RunStore, backends: BackendRegistry, now: Callable[[], datetime] = utc_now
) -> list[Run]:
    """Time out every overdue run, cancel its runner; returns the runs timed out."""
    moment = now()
    reaped = []
    for run in store.runs_in_status(STUCK_CANDIDATES):
        if not (is_overdue(run, moment) or is_silent(run, moment)):
            continue
        target, error = _verdict(run, moment)
        try:
            reaped.append(store.transition(run.id, target, error=error))
        except TransitionConflictError:
            continue  # it finished while we looked
        if target == RunStatus.TIMED_OUT:
            emit_metric(metric_names.RUNS_TIMED_OUT)
        backends.cancel(run.backend, run.runner_ref)
    return reaped


def _verdict(run: Run, now: datetime) -> tuple[RunStatus, str]:
    """An apply that went silent may have changed the state: unknown, not timed out."""
    if run.pipeline == Pipeline.TERRAFORM_APPLY and run.status == RunStatus.RUNNING:
        from chalicelib.flows.runner_events import unknown_apply_error

        return RunStatus.UNKNOWN, unknown_apply_error(run, "no heartbeat or result in time")
    if is_silent(run, now):
        return RunStatus.TIMED_OUT, f"the runner stopped reporting ({HEARTBEAT_STALE} silent)"
    return RunStatus.TIMED_OUT, f"no result within {run.timeout_minutes} minutes"
