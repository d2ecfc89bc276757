"""What a person asks of a run through the API: retry it, cancel it, resolve an unknown one."""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.jobs import Pipeline
from chalicelib.runs.exceptions import RunError, TransitionConflictError
from chalicelib.runs.model import TERMINAL, Run, RunStatus

RETRYABLE = frozenset({RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT})


class NotRetryableError(RunError):
    status = 409
    code = "not_retryable"


def retry_run(services: Any, run_id: str) -> Run:
    """A new run of the same pipeline at the same commit, linked to the old one."""
    old = services.store.get(run_id)
    if old.status not in RETRYABLE or old.pipeline not in set(Pipeline):
        raise NotRetryableError(
            f"run {run_id} is {old.status.value}: only failed, cancelled or timed-out runs "
            "of a pipeline can be retried"
        )
    delivery = f"retry:{old.id}:{uuid.uuid4().hex[:12]}"
    reason = f"retry of {old.id}"
    return services.dispatcher.start_after(old, Pipeline(old.pipeline), reason, delivery, old.id)


def cancel_run(services: Any, run_id: str) -> Run:
    run = services.store.get(run_id)
    if run.status in TERMINAL or run.status == RunStatus.UNKNOWN:
        raise TransitionConflictError(f"run {run_id} is {run.status.value}: nothing to cancel")
    cancelled = services.store.transition(run_id, RunStatus.CANCELLED, error="cancelled by request")
    services.backends.cancel(run.backend, run.runner_ref)
    return cancelled


def resolve_run(services: Any, run_id: str, outcome: str, who: str | None = None) -> Run:
    """Settle a run whose runner died mid-apply, after someone checked the state by hand."""
    target = {"succeeded": RunStatus.SUCCEEDED, "failed": RunStatus.FAILED}.get(outcome)
    if target is None:
        raise NotRetryableError(f"resolve as succeeded or failed, not {outcome!r}")
    run = services.store.get(run_id)
    if run.status != RunStatus.UNKNOWN:
        raise TransitionConflictError(f"run {run_id} is {run.status.value}, not unknown")
    note = f"resolved as {outcome}" + (f" by {who}" if who else "")
    resolved = services.store.transition(run_id, target, resolution=note)
    if resolved.pr is not None:  # an unknown apply kept the workspace locked until now
        services.dispatcher.release_pr(resolved.repo, resolved.pr)
    return resolved
