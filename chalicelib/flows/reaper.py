"""The reaper: runs stuck past their pipeline's timeout end, visibly, like any other run.

A plan queued behind another PR's lock is waiting, not running: its timeout starts when it
is dispatched. An apply whose runner went silent may have changed the state, so it becomes
``unknown`` (lock kept) instead of ``timed_out``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from chalicelib.backends.registry import BackendRegistry
from chalicelib.flows.endings import RunEndings
from chalicelib.jobs import Pipeline
from chalicelib.runs.exceptions import TransitionConflictError
from chalicelib.runs.model import Run, RunStatus, isoformat, utc_now
from chalicelib.runs.rules import unknown_apply_error
from chalicelib.runs.store import RunStore

STUCK_CANDIDATES = (RunStatus.QUEUED, RunStatus.DISPATCHED, RunStatus.RUNNING)
# Runners beat every 30 s; ten minutes of silence means the runner is gone.
HEARTBEAT_STALE = timedelta(minutes=10)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def is_waiting_for_lock(run: Run) -> bool:
    return run.status == RunStatus.QUEUED and run.waiting_for is not None


def is_overdue(run: Run, now: datetime) -> bool:
    """Past its timeout, counted from when a runner got it (queued time excluded)."""
    if is_waiting_for_lock(run):
        return False  # the lock's own lease and sweep decide how long it may wait
    started = _moment(run.started_at or run.dispatched_at or run.created_at)
    return now - started > timedelta(minutes=run.timeout_minutes)


def is_silent(run: Run, now: datetime) -> bool:
    """A running run whose runner stopped sending heartbeats."""
    if run.status != RunStatus.RUNNING or not run.heartbeat_at:
        return False
    return now - _moment(run.heartbeat_at) > HEARTBEAT_STALE


def verdict(run: Run, now: datetime) -> tuple[RunStatus, str]:
    """An apply that went silent may have changed the state: unknown, not timed out."""
    if run.pipeline == Pipeline.TERRAFORM_APPLY and run.status == RunStatus.RUNNING:
        return RunStatus.UNKNOWN, unknown_apply_error(run, "no heartbeat or result in time")
    if is_silent(run, now):
        return RunStatus.TIMED_OUT, f"the runner stopped reporting ({HEARTBEAT_STALE} silent)"
    return RunStatus.TIMED_OUT, f"no result within {run.timeout_minutes} minutes"


def vanished_runners(store: RunStore, backends: BackendRegistry, backend_name: str) -> list[Run]:
    """Runs on ``backend_name`` whose runner the backend no longer sees running.

    For backends that announce nothing when their runner dies: local runners are processes
    that a stopped ``maestro serve`` took down with it, or that were killed. CodeBuild, ECS and
    SSM say so themselves (their state-change events), so they are never asked here.
    """
    from chalicelib.backends.base import RunnerRef

    gone = []
    for run in store.runs_in_status((RunStatus.DISPATCHED, RunStatus.RUNNING)):
        if run.backend != backend_name or not run.runner_ref:
            continue
        state = backends.get(run.backend).status(RunnerRef(backend=run.backend, id=run.runner_ref))
        if state != "running":
            gone.append(run)
    return gone


class Reaper:
    def __init__(
        self,
        store: RunStore,
        backends: BackendRegistry,
        endings: RunEndings,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._backends = backends
        self._endings = endings
        self._now = now

    def reap(self) -> list[Run]:
        """End every overdue or silent run, cancel its runner; returns the runs it ended."""
        moment = self._now()
        reaped = []
        for run in self._store.runs_in_status(STUCK_CANDIDATES):
            if not (is_overdue(run, moment) or is_silent(run, moment)):
                continue
            target, error = verdict(run, moment)
            try:
                ended = self._store.transition(
                    run.id, target, error=error, finished_at=isoformat(moment)
                )
            except TransitionConflictError:
                continue  # it finished while we looked
            self._backends.cancel(run.backend, run.runner_ref)
            reaped.append(self._endings.report(ended))
        return reaped
