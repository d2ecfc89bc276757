"""A Git host whose writes go through the persisted per-PR write budget (docs/github.md).

``post_comment``, ``post_comment_parts`` and ``set_status`` ask the budget first: a write the
budget allows is sent now; otherwise it becomes the pending write of its key (the comment
thread, or the sha and status context), replacing an older pending write of that key, and the
``flush_feedback`` schedule sends it once its tokens are back. Everything else (``read_file``,
permissions, reactions, PR state) passes through unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.budget.exceptions import BudgetContentionError, BudgetItemFullError
from chalicelib.budget.ledger import BudgetLedger
from chalicelib.budget.state import BudgetScope, PendingWrite
from chalicelib.githost.base import CommentBehaviour, CommitStatus

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
    def __init__(
        self,
        inner: Any,
        ledger: BudgetLedger,
        *,
        pr_of: Callable[[str, str], int | None] | None = None,
    ) -> None:
        """``pr_of(repo, sha)`` names the PR a status belongs to, when the caller can tell."""
        self._inner = inner
        self._ledger = ledger
        self._pr_of = pr_of
        if hasattr(inner, "post_comment_parts"):
            # Only then: callers probe for it with getattr and fall back to post_comment.
            self.post_comment_parts = self._post_comment_parts

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_inner":
            raise AttributeError(name)  # copies and pickles probe before __init__ ran
        return getattr(self._inner, name)

    @property
    def inner(self) -> Any:
        return self._inner

    def read_file(self, repo: str, path: str, sha: str) -> str | None:
        return self._inner.read_file(repo, path, sha)

    # -- budgeted writes ---------------------------------------------------------------------
    def post_comment(
        self, repo: str, pr: int, body: str, *, thread: str, behaviour: CommentBehaviour = "update"
    ) -> str:
        payload = {"pr": pr, "thread": thread, "behaviour": behaviour, "bodies": [body]}
        write = PendingWrite(key=f"comment:{thread}", kind="comment", payload=payload)
        if self._offer(BudgetScope(repo, pr), write):
            return self._inner.post_comment(repo, pr, body, thread=thread, behaviour=behaviour)
        return PENDING_ID + thread

    def _post_comment_parts(
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

    def set_status(self, repo: str, sha: str, status: CommitStatus) -> None:
        self.set_pr_status(repo, self._find_pr(repo, sha), sha, status)

    def set_pr_status(self, repo: str, pr: int | None, sha: str, status: CommitStatus) -> None:
        """A status counted against PR ``pr``'s budget (``None``: per sha and context only)."""
        write = PendingWrite(
            key=f"status:{sha}:{status.context}",
            kind="status",
            payload={"sha": sha, "status": status.model_dump(mode="json")},
            sha=sha,
            context=status.context,
            final=status.state != "pending",
        )
        scope = BudgetScope(repo, pr) if pr is not None else BudgetScope(repo, sha=sha)
        if self._offer(scope, write):
            self._inner.set_status(repo, sha, status)

    def _find_pr(self, repo: str, sha: str) -> int | None:
        if self._pr_of is None:
            return None
        try:
            return self._pr_of(repo, sha)
        except Exception:  # the status still goes, counted per sha and context only
            from chalicelib.observability import logger

            logger.exception("could not tell the PR of a status", extra={"sha": sha})
            return None

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
            self._inner.set_status(scope.repo, data["sha"], CommitStatus(**data["status"]))
            return
        bodies: list[str] = data["bodies"]
        options = {"thread": data["thread"], "behaviour": data["behaviour"]}
        if write.kind == "comment_parts":
            self._inner.post_comment_parts(scope.repo, data["pr"], bodies, **options)
        else:
            self._inner.post_comment(scope.repo, data["pr"], bodies[0], **options)


# -- composition ----------------------------------------------------------------------------------


def budget_enabled(settings: Settings, env: dict[str, str] | None = None) -> bool:
    """``MAESTRO_WRITE_BUDGET=on|off``; by default on for GitHub, off in local mode."""
    raw = (os.environ if env is None else env).get("MAESTRO_WRITE_BUDGET", "").strip().lower()
    if raw in ("on", "true", "1"):
        return True
    if raw in ("off", "false", "0"):
        return False
    return not settings.repos_dir


class PrOfSha:
    """The PR whose run set a status: the newest runs of the repository that have this sha.

    ``set_status`` carries no PR, yet a PR's statuses are content-creating requests like its
    comments. The run that sets a status exists by then, and is among the repository's
    newest, so one query of ``by_repo`` (newest first, ``look_back`` runs) finds it. A sha's
    PR does not change: found ones are remembered for the container's life.
    """

    def __init__(self, table_name: str, resource: Any = None, look_back: int = 25) -> None:
        if resource is None:
            import boto3

            resource = boto3.resource("dynamodb")
        self._table = resource.Table(table_name)
        self._look_back = look_back
        self._known: dict[tuple[str, str], int] = {}

    def __call__(self, repo: str, sha: str) -> int | None:
        if (repo, sha) in self._known:
            return self._known[(repo, sha)]
        from boto3.dynamodb.conditions import Attr, Key

        response = self._table.query(
            IndexName="by_repo",
            KeyConditionExpression=Key("gsi1pk").eq(f"REPO#{repo}"),
            FilterExpression=Attr("sha").eq(sha) & Attr("pr").exists(),
            ProjectionExpression="pr",
            ScanIndexForward=False,
            Limit=self._look_back,
        )
        items = response.get("Items", [])
        if not items:
            return None  # a push pipeline, or a run older than the look-back: per sha only
        if len(self._known) >= 4096:
            self._known.clear()
        pr = self._known[(repo, sha)] = int(items[0]["pr"])
        return pr


def with_budget(inner: Any, settings: Settings) -> BudgetedGitHost:
    """``inner`` behind the budget of the main table, large bodies in the artifacts bucket."""
    from chalicelib.store.budget import DynamoBudgetTable, S3BodyStore

    ledger = BudgetLedger(DynamoBudgetTable(settings.table), S3BodyStore(settings.artifacts_bucket))
    return BudgetedGitHost(inner, ledger, pr_of=PrOfSha(settings.table))
