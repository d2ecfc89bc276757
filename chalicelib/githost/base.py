"""The seam between the controller and a Git hosting service."""

from __future__ import annotations

from typing import Literal, NamedTuple, Protocol

from pydantic import BaseModel

from chalicelib.errors import ControllerError

CommitState = Literal["pending", "success", "failure", "error"]
CommentBehaviour = Literal["update", "new", "hide-and-new", "delete-and-new"]
Reaction = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]


class GitHostError(ControllerError):
    """A Git host request failed for good (after retries)."""

    status = 502
    code = "git_host_error"


class ShaNotFoundError(GitHostError):
    """The repository has no commit with this sha."""


class CommitStatus(BaseModel):
    context: str  # e.g. "maestrops/terraform-plan"
    state: CommitState
    description: str  # one line, at most 140 characters on GitHub
    target_url: str | None = None


class PullRequestHead(NamedTuple):
    """Where a PR stands now (a comment's payload carries no sha)."""

    sha: str
    head_branch: str
    base_branch: str
    fork: bool = False  # the head lives in another repository (a fork, or a deleted one)
    head_time: str | None = None  # the head commit's committer date (ISO 8601); None: unknown


class PullRequestState(NamedTuple):
    """What ``maestro apply`` before merge may require (``comments.apply.requires``)."""

    approved: bool  # at least one approval and no outstanding change request
    mergeable: bool  # GitHub computed it and found no conflict


class GitHost(Protocol):
    """Every call the controller makes to a Git host (GitHub, or local mode's git + outbox).

    Implementations: ``githost.github.GitHub``, ``githost.local.LocalGitHost`` and the
    write-budget wrapper ``githost.budgeted.BudgetedGitHost``; mypy checks each against this.
    """

    def read_file(self, repo: str, path: str, sha: str) -> str | None:
        """The file's text at ``sha``; ``None`` when the file does not exist there.

        Raises ``ShaNotFoundError`` when the commit itself is unknown.
        """
        ...

    def post_comment(
        self, repo: str, pr: int, body: str, *, thread: str, behaviour: CommentBehaviour = "update"
    ) -> str:
        """Post (or update in place) the comment of ``thread`` on PR ``pr``; returns its id.

        ``thread`` names one comment thread per PR and pipeline (e.g. ``terraform-plan``).
        """
        ...

    def post_comment_parts(
        self,
        repo: str,
        pr: int,
        bodies: list[str],
        *,
        thread: str,
        behaviour: CommentBehaviour = "update",
    ) -> list[str]:
        """Post a split result: ``bodies[0]`` is ``thread``, the rest ``thread/part-N``.

        Parts left over from a longer earlier result are removed.
        """
        ...

    def set_status(
        self, repo: str, sha: str, status: CommitStatus, *, pr: int | None = None
    ) -> None:
        """Set a commit status on ``sha``; ``pr`` names the PR it reports to, when known."""
        ...

    def add_reaction(self, repo: str, comment_id: int, content: Reaction = "eyes") -> None:
        """Acknowledge (``eyes``) or refuse (``confused``) a comment command."""
        ...

    def pull_request_head(self, repo: str, pr: int) -> PullRequestHead:
        """Where PR ``pr`` stands now (a comment's payload carries no sha)."""
        ...

    def pull_request_state(self, repo: str, pr: int) -> PullRequestState:
        """Whether PR ``pr`` is approved and mergeable."""
        ...

    def pull_request_status(self, repo: str, pr: int) -> str:
        """``open``, ``merged`` or ``closed``."""
        ...

    def has_write_access(self, repo: str, user: str) -> bool:
        """May ``user`` push to ``repo`` (and so run comment commands)."""
        ...

    def repository_role(self, repo: str, user: str) -> str:
        """``read``, ``triage``, ``write``, ``maintain``, ``admin`` or ``none``."""
        ...
