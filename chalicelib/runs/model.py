"""The Run record and its state machine: every transition is a conditional write."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from chalicelib.jobs import Pipeline

MAX_ERROR_CHARS = 2000  # keeps an item far below DynamoDB's 400 KB


class RunStatus(StrEnum):
    QUEUED = "queued"
    DISPATCHED = "dispatched"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    SUPERSEDED = "superseded"
    UNKNOWN = "unknown"  # the runner died mid-apply: someone must resolve it


TERMINAL = frozenset(
    {
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.CANCELLED,
        RunStatus.TIMED_OUT,
        RunStatus.SUPERSEDED,
    }
)

# to-state -> the states it may come from. A transition is applied only if the stored
# status is one of these (a conditional write), so a late or repeated event never moves a
# run backwards.
ALLOWED_FROM: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.DISPATCHED: frozenset({RunStatus.QUEUED}),
    RunStatus.RUNNING: frozenset({RunStatus.QUEUED, RunStatus.DISPATCHED}),
    RunStatus.SUCCEEDED: frozenset({RunStatus.DISPATCHED, RunStatus.RUNNING, RunStatus.UNKNOWN}),
    RunStatus.FAILED: frozenset(
        {RunStatus.QUEUED, RunStatus.DISPATCHED, RunStatus.RUNNING, RunStatus.UNKNOWN}
    ),
    RunStatus.CANCELLED: frozenset({RunStatus.QUEUED, RunStatus.DISPATCHED, RunStatus.RUNNING}),
    RunStatus.TIMED_OUT: frozenset({RunStatus.QUEUED, RunStatus.DISPATCHED, RunStatus.RUNNING}),
    RunStatus.SUPERSEDED: frozenset({RunStatus.QUEUED, RunStatus.DISPATCHED, RunStatus.RUNNING}),
    RunStatus.UNKNOWN: frozenset({RunStatus.DISPATCHED, RunStatus.RUNNING}),
}


def can_transition(current: RunStatus, target: RunStatus) -> bool:
    return current in ALLOWED_FROM.get(target, frozenset())


def utc_now() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_id_for(delivery_id: str, pipeline: str) -> str:
    """Deterministic id: a redelivered or re-processed event maps onto the same run."""
    digest = hashlib.sha256(f"{delivery_id}\0{pipeline}".encode()).hexdigest()
    return f"run-{digest[:20]}"


class Run(BaseModel):
    id: str
    repo: str
    pipeline: Pipeline | str  # str: "gitops-config" for a run that failed before routing
    status: RunStatus = RunStatus.QUEUED
    sha: str
    branch: str | None = None
    base_branch: str | None = None
    pr: int | None = None
    from_fork: bool = False  # its head lives in a fork: config only from the base branch
    run_number: int = 0
    delivery_id: str | None = None
    reason: str | None = None  # why routing started it
    created_at: str = Field(default_factory=lambda: isoformat(utc_now()))
    updated_at: str | None = None
    dispatched_at: str | None = None  # handed to a runner (after any wait for a lock)
    started_at: str | None = None
    finished_at: str | None = None
    heartbeat_at: str | None = None
    error: str | None = None
    failed_step: str | None = None
    backend: str | None = None
    runner_ref: str | None = None
    timeout_minutes: int = 60
    event_sequence: int = 0
    superseded_by: str | None = None
    retry_of: str | None = None
    plan_run_id: str | None = None  # apply: the reviewed plan run whose artifact it applies
    commit_time: str | None = None  # orders feedback: a newer commit's result wins
    state_serial_before: int | None = None  # apply: Terraform state serial before it ran
    state_serial_after: int | None = None
    waiting_for: int | None = None  # plan: the PR whose lock it waits for
    fencing_token: int | None = None  # plan/apply: the workspace lease it holds
    approved_by: str | None = None  # approve-cost: who approved a blocked cost
    approved_at: str | None = None
    approved_for: str | None = None  # approve-cost: "<plan run id> <sha> <verdict>" it lifts
    approval_reason: str | None = None
    cost: dict[str, str] = Field(default_factory=dict)  # plan: monthly totals (decimal strings)
    # plan: sha256 of the plan file and plan JSON as the controller read them at the run's
    # finish. Runner identities can overwrite artifacts but not this record, so the apply
    # checks the plan file it downloads against it. Empty: a record from before the check.
    plan_digests: dict[str, str] = Field(default_factory=dict)
    resolution: str | None = None  # how a person settled an unknown run
    feedback_error: str | None = None  # a status or comment GitHub refused, after retries
    artifacts: dict[str, str] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    steps: list[dict[str, Any]] = Field(default_factory=list)  # name, status, reason, seconds
    # The step the runner last said it started, and that event's sequence: the "running"
    # status names it, once per step, and an older event never replaces a newer step.
    live_step: str | None = None
    live_step_sequence: int = 0
    # A succeeded run that did nothing (every acting step skipped) says so: "nothing-done",
    # with the skipped steps and their reasons; "done" otherwise. None: not reported.
    outcome: str | None = None
    outcome_reason: str | None = None
    # Where the runner clones (the webhook's repository URL): a chained run or a retry has no
    # webhook of its own, and in AWS mode no local repository to fall back on.
    clone_url: str | None = None

    def public(self) -> dict[str, Any]:
        """The API's view of the run (plan digests are bookkeeping for the apply, not news)."""
        return self.model_dump(mode="json", exclude={"clone_url", "plan_digests"})


def truncate_error(message: str) -> str:
    if len(message) <= MAX_ERROR_CHARS:
        return message
    return message[: MAX_ERROR_CHARS - 20] + " … (truncated)"
