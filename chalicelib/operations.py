"""What a person asks of a run through the API: retry it, cancel it, resolve an unknown one."""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.dispatch.base import DispatchError, RunnerRef
from chalicelib.events.trigger import Trigger
from chalicelib.jobs import Pipeline
from chalicelib.observability import logger
from chalicelib.pipelines.config import CONFIG_PATH, parse_config
from chalicelib.pipelines.routing import PipelineRequest
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
    trigger = Trigger(
        delivery_id=f"retry:{old.id}:{uuid.uuid4().hex[:12]}",
        event="push",
        repo=old.repo,
        sha=old.sha,
        branch=old.branch,
        base_branch=old.base_branch,
        pr=old.pr,
        commit_time=old.commit_time,
    )
    config = parse_config(services.githost.read_file(old.repo, CONFIG_PATH, old.sha))
    request = PipelineRequest(
        pipeline=Pipeline(old.pipeline),
        sha=old.sha,
        branch=old.branch,
        base_branch=old.base_branch,
        pr=old.pr,
        reason=f"retry of {old.id}",
    )
    return services.dispatcher.start(request, trigger, config, retry_of=old.id)


def cancel_run(services: Any, run_id: str) -> Run:
    run = services.store.get(run_id)
    if run.status in TERMINAL or run.status == RunStatus.UNKNOWN:
        raise TransitionConflictError(f"run {run_id} is {run.status.value}: nothing to cancel")
    cancelled = services.store.transition(run_id, RunStatus.CANCELLED, error="cancelled by request")
    if run.runner_ref:
        try:
            backend = services.backends.get(run.backend)
            backend.cancel(RunnerRef(backend=run.backend or "", id=run.runner_ref))
        except DispatchError as exc:
            logger.warning("runner not cancelled", extra={"run": run_id, "error": str(exc)})
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
    return services.store.transition(run_id, target, resolution=note)
