"""The one writer of feedback: every commit status, comment and reaction goes out from here.

A write the Git host refuses (after its own retries) is logged and never undoes what the
controller recorded; the methods that end a run return the error so the caller can keep it
on the run (``feedback_error``). Statuses carry the run's PR, so the write budget counts them
against it without looking the PR up again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.events.trigger import Trigger
from chalicelib.feedback.markers import RunMarker
from chalicelib.feedback.notices import lock_wait_comment
from chalicelib.feedback.publish import RunFeedback
from chalicelib.feedback.status import waiting_for_lock_description
from chalicelib.githost.base import CommitState, CommitStatus, GitHost, GitHostError, Reaction
from chalicelib.locks.gate import Admission
from chalicelib.observability import logger
from chalicelib.runs.model import Run
from chalicelib.settings import Settings

STATUS_DESCRIPTION_LIMIT = 140  # GitHub's limit for a commit status description
BRANCH_POLICY_CONTEXT = "maestrops/branch-policy"
COMMANDS_THREAD = "commands"  # one answer comment per PR, updated in place


class Notifier:
    def __init__(self, githost: GitHost, settings: Settings) -> None:
        self._githost = githost
        self._settings = settings

    # -- statuses -------------------------------------------------------------------------

    def run_status(self, run: Run, state: CommitState, description: str) -> str | None:
        """The run's own status (context ``maestrops/<pipeline>``), linked to the run."""
        status = CommitStatus(
            context=status_context(run),
            state=state,
            description=description[:STATUS_DESCRIPTION_LIMIT],
            target_url=self._settings.run_url(run.id),
        )
        return self._status(run.repo, run.sha, status, run.pr)

    def policy_violation(self, trigger: Trigger, violation: str) -> None:
        status = CommitStatus(
            context=BRANCH_POLICY_CONTEXT,
            state="failure",
            description=violation[:STATUS_DESCRIPTION_LIMIT],
        )
        self._status(trigger.repo, trigger.sha, status, trigger.pr)

    # -- endings --------------------------------------------------------------------------

    def run_ended(self, run: Run, state: CommitState, feedback: RunFeedback) -> str | None:
        """Status and comment of a run that ended; returns the Git host's error, if any."""
        error = self.run_status(run, state, feedback.description)
        if run.pr is not None and feedback.comments:
            error = self._comment_parts(run, feedback.comments) or error
        return error

    def waiting_for_lock(self, run: Run, admission: Admission, prefix: str) -> None:
        """Pending "waiting for PR #m" on the commit, and who holds the lock on the PR.

        The notice goes to the plan's own thread, so the plan comment replaces it once it runs.
        """
        grant, key = admission.grant, admission.key
        if grant is None or key is None or run.pr is None:
            return
        holder = grant.holder
        description = waiting_for_lock_description(holder.pr, key.directory, key.workspace)
        self.run_status(run, "pending", description)
        body = lock_wait_comment(
            thread=str(run.pipeline),
            marker=run_marker(run),
            directory=key.directory,
            workspace=key.workspace,
            holder_pr=holder.pr,
            lock_id=key.id,
            holder_run_url=self._settings.run_url(holder.run_id),
            prefix=prefix,
        )
        self._comment_parts(run, [body])

    # -- comment commands -----------------------------------------------------------------

    def answer(self, repo: str, pr: int, body: str) -> None:
        """The reply to a comment command, in the PR's one commands thread."""
        try:
            self._githost.post_comment(repo, pr, body, thread=COMMANDS_THREAD)
        except GitHostError as exc:
            logger.warning("answer not posted", extra={"pr": pr, "error": str(exc)})

    def react(self, repo: str, comment_id: int | None, content: Reaction) -> None:
        if comment_id is None:
            return
        try:
            self._githost.add_reaction(repo, comment_id, content)
        except GitHostError as exc:
            logger.warning("reaction not added", extra={"repo": repo, "error": str(exc)})

    # -- the writes -----------------------------------------------------------------------

    def _status(self, repo: str, sha: str, status: CommitStatus, pr: int | None) -> str | None:
        if not sha:
            return None
        try:
            self._githost.set_status(repo, sha, status, pr=pr)
        except GitHostError as exc:
            logger.warning("status not set", extra={"repo": repo, "sha": sha, "error": str(exc)})
            return str(exc)
        return None

    def _comment_parts(self, run: Run, parts: list[str]) -> str | None:
        assert run.pr is not None
        try:
            self._githost.post_comment_parts(run.repo, run.pr, parts, thread=str(run.pipeline))
        except GitHostError as exc:
            logger.warning("comment not posted", extra={"run": run.id, "error": str(exc)})
            return str(exc)
        return None


def status_context(run: Run) -> str:
    return f"maestrops/{run.pipeline}"


def run_marker(run: Run) -> RunMarker:
    return RunMarker(run_id=run.id, seq=run.run_number, commit_time=_commit_time(run))


def _commit_time(run: Run) -> datetime:
    raw = run.commit_time or run.created_at
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
