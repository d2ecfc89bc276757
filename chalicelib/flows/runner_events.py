"""Runner and service events → run transitions, feedback, metrics and chaining.

Events may arrive twice, late or out of order. Each is applied as a conditional transition;
one the state machine refuses is logged as a conflict and otherwise has no effect. A "step
started" event moves the commit status to "running (step)" only while the stored run is
running and has seen no newer step (``running_status_due``): it never replaces a result.
"""

from __future__ import annotations

from typing import Any

from chalicelib import metric_names
from chalicelib.event_types import RUNNER_SOURCE
from chalicelib.feedback.publish import run_feedback
from chalicelib.feedback.status import running_description
from chalicelib.flows.dispatch import Dispatcher
from chalicelib.flows.endings import RunEndings, ending_status
from chalicelib.flows.logs import run_artifact_prefix
from chalicelib.flows.notify import Notifier
from chalicelib.githost.base import GitHostError
from chalicelib.jobs import (
    DETAIL_HEARTBEAT,
    DETAIL_RUN_FINISHED,
    DETAIL_RUN_STARTED,
    DETAIL_STEP_FINISHED,
    DETAIL_STEP_STARTED,
    Pipeline,
    RunnerEvent,
)
from chalicelib.observability import emit_metric, logger
from chalicelib.pipelines.config import ConfigError
from chalicelib.pipelines.routing import chained_pipelines
from chalicelib.plans.digests import DIGESTED_FILES, UNREADABLE, sha256_hex
from chalicelib.runs.exceptions import RunNotFoundError, TransitionConflictError
from chalicelib.runs.model import TERMINAL, Run, RunStatus, isoformat, truncate_error, utc_now
from chalicelib.runs.rules import unknown_apply_error
from chalicelib.runs.store import RunStore
from chalicelib.settings import Settings
from chalicelib.store.artifacts import ArtifactReader

FINAL_BY_RUNNER_STATUS = {
    "succeeded": RunStatus.SUCCEEDED,
    "failed": RunStatus.FAILED,
    "unknown": RunStatus.UNKNOWN,
}


class RunnerEventHandler:
    def __init__(
        self,
        settings: Settings,
        store: RunStore,
        endings: RunEndings,
        dispatcher: Dispatcher,
        artifacts: ArtifactReader | None = None,
        *,
        notifier: Notifier,
    ) -> None:
        self._settings = settings
        self._store = store
        self._endings = endings
        self._dispatcher = dispatcher
        self._notifier = notifier  # the live "running" status; endings write the rest
        self._artifacts = artifacts or ArtifactReader()

    def handle(self, envelope: dict[str, Any]) -> Run | None:
        """Apply one EventBridge event; returns the run as stored afterwards, if any."""
        if envelope.get("source") != RUNNER_SOURCE:
            return self._service_event(envelope)
        event = RunnerEvent.model_validate(envelope.get("detail") or {})
        detail_type = envelope.get("detail-type")
        try:
            return self._apply(detail_type, event)
        except TransitionConflictError as exc:
            logger.info(
                "late or duplicate event ignored", extra={"run": event.run_id, "why": str(exc)}
            )
        except RunNotFoundError:
            logger.warning("event for an unknown run", extra={"run": event.run_id})
        return None

    def _apply(self, detail_type: str | None, event: RunnerEvent) -> Run | None:
        if detail_type == DETAIL_RUN_STARTED:
            return self._store.transition(
                event.run_id, RunStatus.RUNNING, min_sequence=event.sequence
            )
        if detail_type == DETAIL_HEARTBEAT:
            facts: dict[str, Any] = {"heartbeat_at": isoformat(utc_now())}
            for name in ("state_serial_before", "state_serial_after"):
                if getattr(event, name, None) is not None:
                    facts[name] = getattr(event, name)
            return self._store.update_fields(event.run_id, **facts)
        if detail_type == DETAIL_STEP_STARTED:
            return self._step_started(event)
        if detail_type == DETAIL_STEP_FINISHED:
            return self._record_step(event)
        if detail_type == DETAIL_RUN_FINISHED:
            return self._finish(event)
        logger.warning("unknown runner event", extra={"detail_type": detail_type})
        return None

    def _service_event(self, envelope: dict[str, Any]) -> Run | None:
        """CodeBuild, ECS and SSM state changes: they matter when the runner could not report.

        A runner that ends without its own "run finished" event failed, except an apply:
        the state may have changed, so the run becomes ``unknown`` until someone resolves it.
        """
        from chalicelib.backends.service_events import map_service_event

        update = map_service_event(envelope)
        if update is None or not update.run_id:
            logger.info("service event for no run", extra={"source": envelope.get("source")})
            return None
        try:
            if update.state == "running":
                return self._store.transition(update.run_id, RunStatus.RUNNING)
            if update.state in ("failed", "stopped", "unknown"):
                return self._runner_died(update.run_id, update.reason or update.state)
        except TransitionConflictError:
            pass  # the runner reported first, or the run was cancelled: nothing to do
        except RunNotFoundError:
            logger.warning("service event for an unknown run", extra={"run": update.run_id})
        return None

    def runner_gone(self, run_id: str, reason: str) -> Run | None:
        """End a run whose runner vanished without its "run finished" event, as a service
        event saying so would; ``None`` when the run ended meanwhile."""
        try:
            return self._runner_died(run_id, reason)
        except TransitionConflictError:
            return None

    def _runner_died(self, run_id: str, reason: str) -> Run:
        run = self._store.get(run_id)
        if run.pipeline == Pipeline.TERRAFORM_APPLY:
            target, error = RunStatus.UNKNOWN, unknown_apply_error(run, reason)
        else:
            target, error = RunStatus.FAILED, f"runner ended before reporting: {reason}"
        run = self._store.transition(
            run_id, target, error=truncate_error(error), finished_at=isoformat(utc_now())
        )
        return self._endings.report(run)

    def _step_started(self, event: RunnerEvent) -> Run | None:
        """The live status: "running (step)", once per step, never over a final status."""
        step = event.current_step
        run = self._store.get(event.run_id)
        if step is None:
            return run
        if run.status in (RunStatus.QUEUED, RunStatus.DISPATCHED):  # "run started" is late
            try:
                run = self._store.transition(run.id, RunStatus.RUNNING, min_sequence=event.sequence)
            except TransitionConflictError:
                run = self._store.get(run.id)
        if not running_status_due(run, step, event.sequence):
            return run
        run = self._store.update_fields(run.id, live_step=step, live_step_sequence=event.sequence)
        self._notifier.run_status(run, "pending", running_description(str(run.pipeline), step))
        after = self._store.get(run.id)
        if after.status != RunStatus.RUNNING:
            # The run ended while "running" was on its way: its ending's status may now be
            # behind ours at the Git host, so it goes again (the status alone, not the comment).
            self._restate_ending(after)
        return after

    def _restate_ending(self, run: Run) -> None:
        if run.status not in TERMINAL and run.status != RunStatus.UNKNOWN:
            return
        reader = self._artifacts
        url = self._settings.run_url(run.id)
        feedback = run_feedback(run, url, reader.read_bytes, reader.presigned_url)
        self._notifier.run_status(run, *ending_status(run, feedback.description))

    def _record_step(self, event: RunnerEvent) -> Run:
        run = self._store.get(event.run_id)
        artifacts = {**run.artifacts, **event.artifacts}
        changes: dict[str, Any] = {}
        step = event.step
        if step is not None:
            artifacts.update(step.artifacts)
            changes["steps"] = [*run.steps, _step_summary(step)]
            if step.status == "failed":  # the run's end event names the step, not why
                changes.update(failed_step=step.name, error=_step_error(step))
        return self._store.update_fields(event.run_id, artifacts=artifacts, **changes)

    def _finish(self, event: RunnerEvent) -> Run:
        target = FINAL_BY_RUNNER_STATUS.get(event.status or "", RunStatus.FAILED)
        previous = self._store.get(event.run_id)
        changes: dict[str, Any] = {
            "finished_at": isoformat(utc_now()),
            "artifacts": {**previous.artifacts, **event.artifacts},
            "outputs": event.outputs,
        }
        if event.outcome is not None:  # "nothing-done": every acting step was skipped
            changes.update(outcome=event.outcome, outcome_reason=event.outcome_reason)
        if event.failed_step:
            changes["failed_step"] = event.failed_step
            if event.step is not None:
                changes["error"] = _step_error(event.step)
            elif not previous.error or previous.failed_step != event.failed_step:
                reason = getattr(event, "reason", None) or "failed"
                changes["error"] = f"step {event.failed_step}: {reason}"
        if target == RunStatus.UNKNOWN:  # the runner could not tell whether the state changed
            reason = changes.get("error") or previous.error or "the apply did not finish cleanly"
            changes["error"] = truncate_error(unknown_apply_error(previous, reason.split("\n")[0]))
        if target == RunStatus.SUCCEEDED and previous.pipeline == Pipeline.TERRAFORM_PLAN:
            changes.update(self._cost_totals(changes["artifacts"]))
            changes.update(self._plan_digests(previous.id, changes["artifacts"]))
        run = self._endings.report(self._store.transition(event.run_id, target, **changes))
        if target == RunStatus.SUCCEEDED and run.pipeline == Pipeline.TERRAFORM_APPLY:
            self._record_cost_change(run)
        if _ends_merged_apply(run):  # the merged PR's leases go once its apply is settled
            self._dispatcher.release_pr(run.repo, run.pr)  # type: ignore[arg-type]
        if target == RunStatus.SUCCEEDED:
            self._chain(run)
        return run

    def _cost_totals(self, artifacts: dict[str, str]) -> dict[str, Any]:
        """The plan's monthly totals and policy verdict, kept on the run for history and apply."""
        from chalicelib.costs import CostReport, PolicyResult, totals_of

        cost: dict[str, str] = {}
        raw = self._read_artifact(artifacts, "cost_report")
        if raw is not None:
            values = totals_of(CostReport.model_validate_json(raw)).model_dump(mode="json")
            cost.update({key: str(value) for key, value in values.items() if value is not None})
        raw = self._read_artifact(artifacts, "cost_policy")
        if raw is not None:
            verdict = PolicyResult.model_validate_json(raw)
            cost.update(verdict=verdict.verdict.value, policy=verdict.status_description())
        return {"cost": cost} if cost else {}

    def _plan_digests(self, run_id: str, artifacts: dict[str, str]) -> dict[str, Any]:
        """The sha256 of the plan file and plan JSON, read where the apply will fetch them.

        The run's own prefix, not the URIs the runner named: the apply downloads from there.
        A file the runner named but that cannot be read now gets a digest no file has, so
        its apply refuses rather than falling back to applying unchecked.
        """
        prefix = run_artifact_prefix(self._settings, run_id)
        digests: dict[str, str] = {}
        for name, file_name in DIGESTED_FILES.items():
            if name not in artifacts:
                continue
            data = self._artifacts.read_bytes(prefix + file_name)
            digests[name] = sha256_hex(data) if data is not None else UNREADABLE
        return {"plan_digests": digests} if digests else {}

    def _read_artifact(self, artifacts: dict[str, str], name: str) -> bytes | None:
        uri = artifacts.get(name)
        return self._artifacts.read_bytes(uri) if uri else None

    def _record_cost_change(self, applied: Run) -> None:
        """One data point per merged PR: what it changed in monthly cost."""
        if not applied.plan_run_id:
            return
        plan = self._store.get(applied.plan_run_id)
        diff = plan.cost.get("diff_total_monthly_cost") or plan.cost.get("total_monthly_cost")
        if diff is not None:
            emit_metric(metric_names.MONTHLY_COST_CHANGE, float(diff), "None")

    def _chain(self, run: Run) -> None:
        reason = f"after {run.pipeline} run #{run.run_number}"
        try:
            config = self._dispatcher.config_at(run.repo, run.sha)
            for pipeline in chained_pipelines(Pipeline(run.pipeline), True, config):
                self._dispatcher.start_after(run, pipeline, reason, f"chain:{run.id}")
        except (ConfigError, GitHostError) as exc:
            logger.warning("chain not started", extra={"run": run.id, "error": str(exc)})


def running_status_due(run: Run, step: str, sequence: int) -> bool:
    """Whether a "step started" event should move the status to "running (step)".

    Only while the stored run is running (a final status is never replaced), for a step the
    runner started after the one last named (an older event arriving late changes nothing),
    once per step (a repeated event costs no second write), and not for a step whose result
    is already recorded.
    """
    return (
        run.status == RunStatus.RUNNING
        and sequence > run.live_step_sequence
        and step != run.live_step
        and not any(summary.get("name") == step for summary in run.steps)
    )


def _ends_merged_apply(run: Run) -> bool:
    """An apply of a merged PR that succeeded or failed; ``unknown`` keeps the lease."""
    merged = run.pr is not None and run.branch == run.base_branch  # pre-merge applies keep it
    final = run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)
    return run.pipeline == Pipeline.TERRAFORM_APPLY and merged and final


def _step_summary(step: Any) -> dict[str, Any]:
    return {
        "name": step.name,
        "status": step.status,
        "reason": (step.reason or "")[:200] or None,
        "seconds": step.duration_seconds,
    }


def _step_error(step: Any) -> str:
    reason = step.reason or (f"exit code {step.exit_code}" if step.exit_code else "failed")
    return truncate_error(f"step {step.name}: {reason}\n{step.log_tail}".strip())
