"""A Git host whose writes go through the persisted per-PR write budget (docs/github.md).

``post_comment``, ``post_comment_parts`` and ``set_status`` ask the budget first: a write the
budget allows is sent now; otherwise it becomes the pending write of its key (the comment
thread, or the sha and status context), replacing an older pending write of that key, and the
``flush_feedback`` schedule sends it once its tokens are back. Everything else (``read_file``,
permissions, reactions, PR state) passes through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chalicelib.budget.exceptions import BudgetContentionError, BudgetItemFullError
from chalicelib.budget.ledger import BudgetLedger
from chalicelib.budget.state import BudgetScope, PendingWrite
from chalicelib.githost.base import (
    CommentBehaviour,
    CommitStatus,
    GitHost,
    PullRequestHead,
    PullRequestState,
    Reaction,
)

if TYPE_CHECKING:
    from chalicelib.settings import Settings

MAX_SEND_ATTEMPTS = 5  # a pending write that failed this often is dropped (and logged)
PENDING_ID = "pending:"  # the comment id returned for a write that waits


@dataclass
class FlushReport:
    sent: list[str] = field(default_factory=list)  # "<scope> <key>"
    requeued: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)  # failed, but a newer write waits
    dropped: list[str] = field(default_factory=list)


class BudgetedGitHost:
    """A ``GitHost`` whose content-creating writes wait for the PR's write budget."""

    def __init__(self, inner: GitHost, ledger: BudgetLedger) -> None:
        self._inner = inner
        self._ledger = ledger

    @property
    def inner(self) -> GitHost:
        return self._inner

    # -- reads and reactions pass through --------------------------------------------------
    def read_file(self, repo: str, path: str, sha: str) -> str | None:
        return self._inner.read_file(repo, path, sha)

    def add_reaction(self, repo: str, comment_id: int, content: Reaction = "eyes") -> None:
        self._inner.add_reaction(repo, comment_id, content)

    def pull_request_head(self, repo: str, pr: int) -> PullRequestHead:
        return self._inner.pull_request_head(repo, pr)

    def pull_request_state(self, repo: str, pr: int) -> PullRequestState:
        return self._inner.pull_request_state(repo, pr)

    def pull_request_status(self, repo: str, pr: int) -> str:
        return self._inner.pull_request_status(repo, pr)

    def has_write_access(self, repo: str, user: str) -> bool:
        return self._inner.has_write_access(repo, user)

    def repository_role(self, repo: str, user: str) -> str:
        return self._inner.repository_role(repo, user)

    # -- budgeted writes ---------------------------------------------------------------------
    def post_comment(
        self, repo: str, pr: int, body: str, *, thread: str, behaviour: CommentBehaviour = "update"
    ) -> str:
        payload = {"pr": pr, "thread": thread, "behaviour": behaviour, "bodies": [body]}
        write = PendingWrite(key=f"comment:{thread}", kind="comment", payload=payload)
        if self._offer(BudgetScope(repo, pr), write):
            return self._inner.post_comment(repo, pr, body, thread=thread, behaviour=behaviour)
        return PENDING_ID + thread

    def post_comment_parts(
        self,
        repo: str,
        pr: int,
        bodies: list[str],
        *,
        thread: str,
        behaviour: CommentBehaviour = "update",
    ) -> list[str]:
        payload = {"pr": pr, "thread": thread, "behaviour": behaviour, "bodies": list(bodies)}
        write = PendingWrite(
            key=f"comment:{thread}", kind="comment_parts", payload=payload, cost=len(bodies)
        )
        if self._offer(BudgetScope(repo, pr), write):
            return self._inner.post_comment_parts(
                repo, pr, bodies, thread=thread, behaviour=behaviour
            )
        return [PENDING_ID + thread]

    def set_status(
        self, repo: str, sha: str, status: CommitStatus, *, pr: int | None = None
    ) -> None:
        """A status counted against PR ``pr``'s budget (``None``: per sha and context only)."""
        write = PendingWrite(
            key=f"status:{sha}:{status.context}",
            kind="status",
            payload={"sha": sha, "pr": pr, "status": status.model_dump(mode="json")},
            sha=sha,
            context=status.context,
            final=status.state != "pending",
        )
        scope = BudgetScope(repo, pr) if pr is not None else BudgetScope(repo, sha=sha)
        if self._offer(scope, write):
            self._inner.set_status(repo, sha, status, pr=pr)

    def _offer(self, scope: BudgetScope, write: PendingWrite) -> bool:
        try:
            return self._ledger.offer(scope, write)
        except (BudgetContentionError, BudgetItemFullError) as exc:
            from chalicelib.observability import logger

            # Sending one write over the budget beats losing it; GitHub's retries back off.
            logger.warning(
                "write budget unavailable; sending anyway",
                extra={"scope": scope.name, "reason": type(exc).__name__},
            )
            return True

    # -- the schedule's side -----------------------------------------------------------------
    def flush(self, now: float | None = None) -> FlushReport:
        """Send every pending write that fits the budget again (``now``: clock time, for tests).

        Each write stays pending, claimed, until GitHub took it: a flush that dies mid-way
        leaves the rest to a later flush instead of losing them.
        """
        report = FlushReport()
        for scope in self._ledger.due_scopes(now):
            for write in self._ledger.take_due(scope, now):
                label = f"{scope.name} {write.key}"
                try:
                    self._send(scope, write)
                except Exception as exc:  # one bad write must not stop the rest
                    self._failed(scope, write, exc, label, report)
                    continue
                self._ledger.settle(scope, write)
                report.sent.append(label)
        return report

    def _failed(
        self,
        scope: BudgetScope,
        write: PendingWrite,
        exc: Exception,
        label: str,
        report: FlushReport,
    ) -> None:
        from chalicelib.observability import logger

        if write.attempts + 1 >= MAX_SEND_ATTEMPTS:
            self._ledger.settle(scope, write)
            report.dropped.append(label)
            logger.error(
                "pending feedback write dropped", extra={"write": label, "error": str(exc)[:300]}
            )
        elif self._ledger.requeue(scope, write):
            report.requeued.append(label)
            logger.warning("pending feedback write failed; kept", extra={"write": label})
        else:
            report.superseded.append(label)  # a newer write of its key went or waits instead

    def _send(self, scope: BudgetScope, write: PendingWrite) -> None:
        data = write.payload
        if write.kind == "status":
            status = CommitStatus(**data["status"])
            self._inner.set_status(scope.repo, data["sha"], status, pr=data.get("pr"))
            return
        bodies: list[str] = data["bodies"]
        options = {"thread": data["thread"], "behaviour": data["behaviour"]}
        if write.kind == "comment_parts":
            self._inner.post_comment_parts(scope.repo, data["pr"], bodies, **options)
        else:
            self._inner.post_comment(scope.repo, data["pr"], bodies[0], **options)


# -- composition ----------------------------------------------------------------------------------


def budget_enabled(settings: Settings) -> bool:
    """``MAESTRO_WRITE_BUDGET=on|off``; by default on for GitHub, off in local mode."""
    raw = (settings.write_budget or "").strip().lower()
    if raw in ("on", "true", "1"):
        return True
    if raw in ("off", "false", "0"):
        return False
    return not settings.repos_dir
