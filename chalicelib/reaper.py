"""The reaper: runs stuck past their pipeline's timeout become ``timed_out``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from chalicelib import metric_names
from chalicelib.dispatch.base import DispatchError, RunnerRef
from chalicelib.dispatch.registry import BackendRegistry
from chalicelib.observability import emit_metric, logger
from chalicelib.runs.exceptions import TransitionConflictError
from chalicelib.runs.model import Run, RunStatus, utc_now

STUCK_CANDIDATES = (RunStatus.QUEUED, RunStatus.DISPATCHED, RunStatus.RUNNING)


def is_overdue(run: Run, now: datetime) -> bool:
    started = datetime.fromisoformat((run.started_at or run.created_at).replace("Z", "+00:00"))
    return now - started > timedelta(minutes=run.timeout_minutes)


def reap(
    store: object, backends: BackendRegistry, now: Callable[[], datetime] = utc_now
) -> list[Run]:
    """Time out every overdue run, cancel its runner; returns the runs timed out."""
    moment = now()
    reaped = []
    for run in store.runs_in_status(STUCK_CANDIDATES):  # type: ignore[attr-defined]
        if not is_overdue(run, moment):
            continue
        try:
            reaped.append(
                store.transition(  # type: ignore[attr-defined]
                    run.id,
                    RunStatus.TIMED_OUT,
                    error=f"no result within {run.timeout_minutes} minutes",
                )
            )
        except TransitionConflictError:
            continue  # it finished while we looked
        emit_metric(metric_names.RUNS_TIMED_OUT)
        _cancel(run, backends)
    return reaped


def _cancel(run: Run, backends: BackendRegistry) -> None:
    if not run.runner_ref:
        return
    try:
        backends.get(run.backend).cancel(RunnerRef(backend=run.backend or "", id=run.runner_ref))
    except DispatchError as exc:
        logger.warning("runner not cancelled", extra={"run": run.id, "error": str(exc)})
