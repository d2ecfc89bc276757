"""What a person asks of a run through the API: retry it, cancel it, resolve an unknown one.

The retry rule (docs/api.md): only a run that ended ``failed``, ``timed_out`` or
``cancelled`` may be retried, each run at most once (a second request names the retry that
exists), and a chain of retries stops after ``MAX_RETRIES``. A commit whose ``.gitops.yml``
is unusable, or that the Git host no longer has, is a permanent error: the retry is refused
with a 422 and nothing is recorded, because a new run would fail the same way.
"""

from __future__ import annotations

from typing import Any

from chalicelib.githost.base import GitHostError, ShaNotFoundError
from chalicelib.jobs import Pipeline
from chalicelib.pipelines.config import ConfigError
from chalicelib.runs.exceptions import (
    AlreadyRetriedError,
    GitHostUnavailableError,
    InvalidOutcomeError,
    NotRetryableError,
    PermanentRetryError,
    RetryLimitError,
    RunNotFoundError,
    TransitionConflictError,
)
from chalicelib.runs.model import TERMINAL, Run, RunStatus, isoformat, run_id_for, utc_now

RETRYABLE = frozenset({RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT})
MAX_RETRIES = 3  # retries in one chain: the original run and three more attempts


def retry_run(services: Any, run_id: str) -> Run:
    """A new run of the same pipeline at the same commit, linked to the old one."""
    old = services.store.get(run_id)
    check_retryable(old)
    delivery = retry_delivery(old.id)
    existing = _find(services.store, run_id_for(delivery, old.pipeline))
    if existing is not None:
        raise AlreadyRetriedError(
            f"run {run_id} was already retried as {existing.id} ({existing.status.value}); "
            f"retry {existing.id} instead"
        )
    attempts = retry_depth(services.store, old)
    if attempts >= MAX_RETRIES:
        raise RetryLimitError(
            f"run {run_id} is retry {attempts} of its chain (at most {MAX_RETRIES}): "
            "fix the cause and push a new commit"
        )
    reason = f"retry of {old.id}"
    try:
        return services.dispatcher.start_after(
            old, Pipeline(old.pipeline), reason, delivery, old.id
        )
    except ConfigError as exc:
        raise PermanentRetryError(f"commit {old.sha[:12]}: .gitops.yml: {exc}") from None
    except ShaNotFoundError:
        raise PermanentRetryError(f"commit {old.sha[:12]} is not in {old.repo}") from None
    except GitHostError as exc:
        raise GitHostUnavailableError(f"the Git host could not be read: {exc}") from None


def check_retryable(run: Run) -> None:
    """Raise ``NotRetryableError`` unless ``run`` ended in a state a retry may follow."""
    if run.status not in RETRYABLE or run.pipeline not in set(Pipeline):
        raise NotRetryableError(
            f"run {run.id} is {run.status.value}: only failed, cancelled or timed-out runs "
            "of a pipeline can be retried"
        )


def retry_delivery(run_id: str) -> str:
    """One retry per run: its id derives from the run it retries, so two requests (or two
    racing callers) find the same run instead of starting two."""
    return f"retry:{run_id}"


def retry_depth(store: Any, run: Run) -> int:
    """How many retries precede ``run`` in its chain (0 for an original run)."""
    depth, current = 0, run
    while current.retry_of and depth <= MAX_RETRIES:
        depth += 1
        parent = _find(store, current.retry_of)
        if parent is None:
            break
        current = parent
    return depth


def cancel_run(services: Any, run_id: str) -> Run:
    run = services.store.get(run_id)
    if run.status in TERMINAL or run.status == RunStatus.UNKNOWN:
        raise TransitionConflictError(f"run {run_id} is {run.status.value}: nothing to cancel")
    cancelled = services.store.transition(
        run_id, RunStatus.CANCELLED, error="cancelled by request", finished_at=_now()
    )
    services.backends.cancel(run.backend, run.runner_ref)
    return services.endings.report(cancelled)


def resolve_run(services: Any, run_id: str, outcome: str, who: str | None = None) -> Run:
    """Settle a run whose runner died mid-apply, after someone checked the state by hand."""
    target = {"succeeded": RunStatus.SUCCEEDED, "failed": RunStatus.FAILED}.get(outcome)
    if target is None:
        raise InvalidOutcomeError(f"as: resolve as succeeded or failed, not {outcome[:40]!r}")
    run = services.store.get(run_id)
    if run.status != RunStatus.UNKNOWN:
        raise TransitionConflictError(f"run {run_id} is {run.status.value}, not unknown")
    note = f"resolved as {outcome}" + (f" by {who}" if who else "")
    resolved = services.store.transition(run_id, target, resolution=note)
    if resolved.pr is not None:  # an unknown apply kept the workspace locked until now
        services.dispatcher.release_pr(resolved.repo, resolved.pr)
    # Counted when it became unknown; the status and comment now say how it was settled.
    return services.endings.report(resolved, metrics=False)


def _now() -> str:
    return isoformat(utc_now())


def _find(store: Any, run_id: str) -> Run | None:
    try:
        return store.get(run_id)
    except RunNotFoundError:
        return None
