"""Feedback for a plan that waits for another PR's lease: a pending status and a comment."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.feedback.markers import RunMarker
from chalicelib.feedback.notices import lock_wait_comment
from chalicelib.feedback.status import waiting_for_lock_description
from chalicelib.githost.base import CommitStatus, GitHost, GitHostError
from chalicelib.locks.gate import Admission
from chalicelib.observability import logger
from chalicelib.runs.model import Run
from chalicelib.settings import Settings


def notify_waiting(
    githost: GitHost, settings: Settings, run: Run, admission: Admission, prefix: str
) -> None:
    """Pending "waiting for PR #m" on the commit, and who holds the lock on the PR.

    The notice goes to the plan's own thread, so the plan comment replaces it once it runs.
    """
    grant, key = admission.grant, admission.key
    if grant is None or key is None or run.pr is None:
        return
    holder = grant.holder
    description = waiting_for_lock_description(holder.pr, key.directory, key.workspace)
    status = CommitStatus(
        context=f"maestrops/{run.pipeline}",
        state="pending",
        description=description,
        target_url=settings.run_url(run.id),
    )
    body = lock_wait_comment(
        thread=str(run.pipeline),
        marker=RunMarker(run_id=run.id, seq=run.run_number, commit_time=_commit_time(run)),
        directory=key.directory,
        workspace=key.workspace,
        holder_pr=holder.pr,
        lock_id=key.id,
        holder_run_url=settings.run_url(holder.run_id),
        prefix=prefix,
    )
    try:
        githost.set_status(run.repo, run.sha, status)
        githost.post_comment(run.repo, run.pr, body, thread=str(run.pipeline))
    except GitHostError as exc:
        logger.warning("lock wait not reported", extra={"run": run.id, "error": str(exc)})


def _commit_time(run: Run) -> datetime:
    raw = run.commit_time or run.created_at
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
