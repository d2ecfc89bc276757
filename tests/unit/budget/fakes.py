"""A recording Git host and a settable clock for the write budget's tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.githost.base import (
    CommentBehaviour,
    CommitStatus,
    GitHostError,
    PullRequestHead,
    PullRequestState,
    Reaction,
)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingHost:
    """Records every write in order; ``fail`` makes the next writes raise."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.writes: list[tuple[Any, ...]] = []
        self.sent_at: list[float] = []  # the clock at each write, to check the rates
        self._clock = clock or Clock()
        self.fail = 0
        self.on_fail: Callable[[], None] | None = None  # runs once, as the next failure happens

    def _check(self) -> None:
        if self.fail:
            self.fail -= 1
            if self.on_fail is not None:
                hook, self.on_fail = self.on_fail, None
                hook()
            raise GitHostError("GitHub said 502")
        self.sent_at.append(self._clock())

    def read_file(self, repo: str, path: str, sha: str) -> str | None:
        return f"{repo}:{path}@{sha}"

    def post_comment(
        self, repo: str, pr: int, body: str, *, thread: str, behaviour: CommentBehaviour = "update"
    ) -> str:
        self._check()
        self.writes.append(("comment", repo, pr, thread, body))
        return f"id-{len(self.writes)}"

    def post_comment_parts(
        self, repo: str, pr: int, bodies: list[str], *, thread: str, behaviour: str = "update"
    ) -> list[str]:
        self._check()
        self.writes.append(("parts", repo, pr, thread, tuple(bodies)))
        return [f"id-{len(self.writes)}-{n}" for n in range(len(bodies))]

    def set_status(
        self, repo: str, sha: str, status: CommitStatus, *, pr: int | None = None
    ) -> None:
        self._check()
        self.writes.append(("status", repo, sha, status.context, status.state, status.description))

    def add_reaction(self, repo: str, comment_id: int, content: Reaction = "eyes") -> None:
        self.writes.append(("reaction", repo, comment_id, content))

    def pull_request_head(self, repo: str, pr: int) -> PullRequestHead:
        return PullRequestHead("a" * 40, "feature", "main")

    def pull_request_state(self, repo: str, pr: int) -> PullRequestState:
        return PullRequestState(approved=True, mergeable=True)

    def pull_request_status(self, repo: str, pr: int) -> str:
        return "open"

    def has_write_access(self, repo: str, user: str) -> bool:
        return user == "octocat"

    def repository_role(self, repo: str, user: str) -> str:
        return "write" if user == "octocat" else "read"

    def comments(self, thread: str | None = None) -> list[str]:
        return [w[4] for w in self.writes if w[0] == "comment" and thread in (None, w[3])]
