"""Every ending of a run, whoever ends it, is visible: metrics, a status and a comment.

The runner's own result, a dead runner's service event, the reaper, a dispatch that could not
start and a person's cancel or resolve all end here, so no ending leaves a pull request
"pending" or an alarm blind.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib import metric_names
from chalicelib.feedback.publish import RunFeedback, run_feedback
from chalicelib.flows.notify import Notifier
from chalicelib.githost.base import CommitState
from chalicelib.observability import emit_metric
from chalicelib.runs.model import Run, RunStatus, truncate_error
from chalicelib.runs.rules import cost_blocked
from chalicelib.runs.store import RunStore
from chalicelib.settings import Settings
from chalicelib.store.artifacts import ArtifactReader


class RunEndings:
    def __init__(
        self,
        settings: Settings,
        store: RunStore,
        notifier: Notifier,
        artifacts: ArtifactReader | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._notifier = notifier
        self._artifacts = artifacts or ArtifactReader()

    def report(self, run: Run, *, metrics: bool = True) -> Run:
        """Metrics, status and comment of ``run``, which has just reached its final state.

        ``metrics=False``: a person settled a run whose ending was already counted (resolve).
        """
        if metrics:
            record_run_metrics(run)
        reader = self._artifacts
        feedback = run_feedback(
            run, self._settings.run_url(run.id), reader.read_bytes, reader.presigned_url
        )
        state, description = ending_status(run, feedback.description)
        error = self._notifier.run_ended(run, state, RunFeedback(description, feedback.comments))
        if error is None:
            return run
        return self._store.update_fields(run.id, feedback_error=truncate_error(error))


def ending_status(run: Run, description: str) -> tuple[CommitState, str]:
    """The commit status of an ended run: green only for success, and a cost block is red."""
    if cost_blocked(run):  # the plan is fine; its cost needs an approver first
        policy = run.cost.get("policy", "cost blocked")
        return "failure", f"{policy}; comment `maestro approve-cost`"
    if run.status == RunStatus.SUCCEEDED:
        return "success", description
    if run.status == RunStatus.UNKNOWN:
        return "error", f"outcome unknown: check the state, then `maestro runs resolve {run.id}`"
    if run.status in (RunStatus.CANCELLED, RunStatus.SUPERSEDED):
        return "error", description
    return "failure", description


def record_run_metrics(run: Run) -> None:
    pipeline = str(run.pipeline)
    if run.status == RunStatus.SUCCEEDED:
        emit_metric(metric_names.RUNS_SUCCEEDED, pipeline=pipeline)
    elif run.status in (RunStatus.FAILED, RunStatus.UNKNOWN, RunStatus.TIMED_OUT):
        emit_metric(metric_names.RUNS_FAILED, pipeline=pipeline)
        if pipeline in metric_names.DEPLOYING_PIPELINES:
            emit_metric(metric_names.DEPLOY_FAILED)
    if run.status == RunStatus.TIMED_OUT:
        emit_metric(metric_names.RUNS_TIMED_OUT)
    if run.status == RunStatus.UNKNOWN:
        emit_metric(metric_names.RUNS_UNKNOWN)
    duration = _duration_seconds(run)
    if duration is not None:
        emit_metric(metric_names.RUN_DURATION, duration, "Seconds", pipeline=pipeline)


def _duration_seconds(run: Run) -> float | None:
    if not run.finished_at:
        return None
    start = datetime.fromisoformat((run.started_at or run.created_at).replace("Z", "+00:00"))
    end = datetime.fromisoformat(run.finished_at.replace("Z", "+00:00"))
    return max((end - start).total_seconds(), 0.0)
