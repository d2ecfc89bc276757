"""What a finished run tells its pull request: the status line and the comment parts.

Pure apart from ``read``, which fetches an artifact's bytes (S3 or a file), and ``presign``,
which links the redacted full plan (never the raw plan JSON). The completion handler posts
what this returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from chalicelib.feedback.markers import RunMarker
from chalicelib.feedback.render import (
    CommentContext,
    StepRow,
    render_plan_comments_from_json,
    render_result_comments,
)
from chalicelib.feedback.status import (
    ended_description,
    failure_description,
    nothing_done_description,
    plan_description,
)
from chalicelib.plans.exceptions import PlanParseError
from chalicelib.runs.model import Run, RunStatus

if TYPE_CHECKING:
    from chalicelib.costs.model import CostReport

Reader = Callable[[str], bytes | None]
Presigner = Callable[[str], str | None]


@dataclass
class RunFeedback:
    description: str
    comments: list[str] = field(default_factory=list)


def run_feedback(run: Run, run_url: str, read: Reader, presign: Presigner) -> RunFeedback:
    ctx = CommentContext(
        thread=str(run.pipeline),
        title=str(run.pipeline),
        marker=RunMarker(run_id=run.id, seq=run.run_number, commit_time=_commit_time(run)),
        sha=run.sha,
        run_url=run_url,
        run_label=f"{run.pipeline} #{run.run_number}",
        full_plan_url=_full_plan_link(run, presign),
    )
    plan_json = run.artifacts.get("plan_json")
    if run.status == RunStatus.SUCCEEDED and run.pipeline == "terraform-plan" and plan_json:
        data = read(plan_json)
        if data is not None:
            try:
                return _plan_feedback(run, ctx, data, read)
            except PlanParseError as exc:
                return _result_feedback(run, ctx, f"plan JSON unreadable: {exc}")
    return _result_feedback(run, ctx, None)


def _full_plan_link(run: Run, presign: Presigner) -> str | None:
    """A link to the redacted full plan only: the raw plan JSON holds sensitive values in clear.

    A run stored before the runner wrote ``plan_redacted`` gets no link.
    """
    redacted = run.artifacts.get("plan_redacted")
    return presign(redacted) if redacted else None


def _plan_feedback(run: Run, ctx: CommentContext, data: bytes, read: Reader) -> RunFeedback:
    cost = plan_cost(run.artifacts, read)
    summary, parts = render_plan_comments_from_json(
        data, ctx, cost_block=cost.block, cost_reason=cost.reason
    )
    return RunFeedback(plan_description(summary, cost.monthly_delta), parts)


@dataclass(frozen=True)
class PlanCost:
    """The cost part of a plan comment: the block (``None``: not estimated, ``reason`` says why)."""

    block: str | None
    reason: str | None = None
    monthly_delta: Decimal | None = None


def plan_cost(artifacts: dict[str, str], read: Reader) -> PlanCost:
    """The cost block of the plan comment, rendered from the cost step's JSON artifacts.

    The runner stores ``cost_report``, ``cost_policy`` and ``cost_insights``; every word is
    written here. A run recorded before that has a rendered ``cost_block`` and no insights: its
    block is shown as it was written then. Artifacts that do not parse leave the comment without
    a cost block, saying why, rather than without a comment.
    """
    from pydantic import ValidationError

    from chalicelib.costs import CostReport

    try:
        raw = _read(artifacts, "cost_report", read)
        report = CostReport.model_validate_json(raw) if raw is not None else None
        if "cost_block" in artifacts and "cost_insights" not in artifacts:
            block = _read(artifacts, "cost_block", read)
            text = block.decode(errors="replace") if block is not None else None
        else:
            text = _render_block(report, artifacts, read) if report is not None else None
    except ValidationError as exc:
        return PlanCost(None, f"the cost data is unreadable ({exc.error_count()} errors)")
    reason = None if text is not None else "the cost step produced no estimate"
    return PlanCost(text, reason, report.diff_total_monthly_cost if report is not None else None)


def _render_block(report: CostReport, artifacts: dict[str, str], read: Reader) -> str:
    """The estimate with its insights, then the policy verdict (empty: nothing to say)."""
    from chalicelib.costs import CostInsights, PolicyResult, render_cost_block

    raw = _read(artifacts, "cost_insights", read)
    insights = CostInsights.model_validate_json(raw).insights if raw is not None else ()
    raw = _read(artifacts, "cost_policy", read)
    verdict = PolicyResult.model_validate_json(raw).render() if raw is not None else ""
    return "\n\n".join(part for part in (render_cost_block(report, insights), verdict) if part)


def _read(artifacts: dict[str, str], name: str, read: Reader) -> bytes | None:
    uri = artifacts.get(name)
    return read(uri) if uri else None


def _result_feedback(run: Run, ctx: CommentContext, problem: str | None) -> RunFeedback:
    succeeded = run.status == RunStatus.SUCCEEDED and problem is None
    nothing_done = succeeded and run.outcome == "nothing-done"
    if nothing_done:
        headline = f"{run.pipeline} run #{run.run_number} did nothing: {run.outcome_reason}."
    else:
        headline = f"{run.pipeline} run #{run.run_number} {run.status.value}."
    if problem:
        headline += f" {problem}"
    steps = [
        StepRow(
            name=step["name"] + (f" ({step['reason']})" if step.get("reason") else ""),
            state=step["status"],
            seconds=step.get("seconds"),
        )
        for step in run.steps
    ]
    parts = render_result_comments(
        ctx,
        succeeded=succeeded,
        headline=headline,
        steps=steps,
        failed_step=run.failed_step,
        log_tail=run.error,
        finished_at=_parse(run.finished_at),
        nothing_done=nothing_done,
    )
    return RunFeedback(_result_description(run, succeeded, nothing_done), parts)


def _result_description(run: Run, succeeded: bool, nothing_done: bool) -> str:
    if nothing_done:
        return nothing_done_description(run.run_number, run.outcome_reason)
    if succeeded:
        return f"run #{run.run_number} succeeded"
    reason = (run.error or "").split("\n")[0] or None
    if run.failed_step:
        return failure_description(run.failed_step, reason)
    return ended_description(run.run_number, run.status.value, reason)


def _commit_time(run: Run) -> datetime:
    return _parse(run.commit_time) or _parse(run.created_at) or datetime.now(UTC)


def _parse(moment: str | None) -> datetime | None:
    if not moment:
        return None
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
