"""Local mode's Git host: repositories on disk, comments and statuses in an outbox folder.

Repository ``owner/name`` is the git repository ``<repos_dir>/owner/name``. Comments keep
one file per PR and thread (updated in place, as on GitHub), plus an append-only log of
every write so a reader can replay what the PR saw.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.events.models import valid_full_name
from chalicelib.feedback.markers import part_thread
from chalicelib.githost.base import (
    CommentBehaviour,
    CommitStatus,
    GitHostError,
    PullRequestHead,
    PullRequestState,
    Reaction,
    ShaNotFoundError,
)


class LocalGitHost:
    def __init__(self, repos_dir: str, outbox_dir: str) -> None:
        self._repos = Path(repos_dir)
        self._outbox = Path(outbox_dir)

    def read_file(self, repo: str, path: str, sha: str) -> str | None:
        git_dir = self._repo_dir(repo)
        if not sha or self._git(git_dir, "cat-file", "-e", f"{sha}^{{commit}}").returncode != 0:
            raise ShaNotFoundError(f"{repo} has no commit {sha!r}")
        shown = subprocess.run(
            ["git", "-C", str(git_dir), "show", f"{sha}:{path}"], capture_output=True, check=False
        )
        if shown.returncode != 0:
            return None
        try:
            return shown.stdout.decode("utf-8")
        except UnicodeDecodeError as exc:  # a failed run naming the file, not a poison message
            raise GitHostError(
                f"{path} at {sha[:12]} is not UTF-8 text: {exc.reason} at byte {exc.start}"
            ) from None

    def post_comment(
        self, repo: str, pr: int, body: str, *, thread: str, behaviour: CommentBehaviour = "update"
    ) -> str:
        folder = self._box(repo) / "comments"
        folder.mkdir(parents=True, exist_ok=True)
        comment_id = f"{pr}-{thread}"
        path = folder / f"{comment_id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)  # a part's thread is ``thread/part-N``
        path.write_text(body, encoding="utf-8")
        self._log(repo, {"kind": "comment", "pr": pr, "thread": thread, "body": body})
        return comment_id

    def post_comment_parts(
        self,
        repo: str,
        pr: int,
        bodies: list[str],
        *,
        thread: str,
        behaviour: CommentBehaviour = "update",
    ) -> list[str]:
        """One file per part (``thread/part-N``); parts of a longer earlier result go."""
        ids = [
            self.post_comment(repo, pr, body, thread=part_thread(thread, n), behaviour=behaviour)
            for n, body in enumerate(bodies, start=1)
        ]
        parts_dir = self._box(repo) / "comments" / f"{pr}-{thread}"
        part = len(bodies) + 1
        while (stale := parts_dir / f"part-{part}.md").exists():
            stale.unlink()
            part += 1
        return ids

    def set_status(
        self, repo: str, sha: str, status: CommitStatus, *, pr: int | None = None
    ) -> None:
        self._log(repo, {"kind": "status", "sha": sha, "pr": pr, **status.model_dump()})

    # -- pull requests and comment commands ----------------------------------------------
    # A PR's head lives in ``<outbox>/<owner/name>/pulls/<n>.json`` (local mode has no
    # GitHub to ask): ``{"sha", "head", "base", "fork", "approved", "mergeable", "status"}``;
    # the head's commit time comes from the repository.

    def record_pull_request(
        self,
        repo: str,
        pr: int,
        head: PullRequestHead,
        *,
        approved: bool = False,
        mergeable: bool = True,
        status: str = "open",
    ) -> None:
        folder = self._box(repo) / "pulls"
        folder.mkdir(parents=True, exist_ok=True)
        data: dict[str, object] = {"sha": head.sha, "head": head.head_branch}
        data.update(base=head.base_branch, fork=head.fork)
        data.update(approved=approved, mergeable=mergeable, status=status)
        (folder / f"{pr}.json").write_text(json.dumps(data), encoding="utf-8")

    def pull_request_head(self, repo: str, pr: int) -> PullRequestHead:
        data = self._pull(repo, pr)
        sha = str(data["sha"])
        shown = self._git(self._repo_dir(repo), "show", "-s", "--format=%cI", sha, "--")
        head_time = shown.stdout.strip() if shown.returncode == 0 else None
        fork = bool(data.get("fork", False))
        return PullRequestHead(sha, str(data["head"]), str(data["base"]), fork, head_time or None)

    def pull_request_state(self, repo: str, pr: int) -> PullRequestState:
        data = self._pull(repo, pr)
        return PullRequestState(bool(data.get("approved")), bool(data.get("mergeable", True)))

    def pull_request_status(self, repo: str, pr: int) -> str:
        return str(self._pull(repo, pr).get("status", "open"))

    def has_write_access(self, repo: str, user: str) -> bool:
        """Everyone, unless ``<outbox>/<owner/name>/collaborators.json`` maps users to roles."""
        return self.repository_role(repo, user) in ("write", "maintain", "admin")

    def repository_role(self, repo: str, user: str) -> str:
        path = self._box(repo) / "collaborators.json"
        if not path.exists():
            return "admin"  # local mode: whoever can reach the controller is trusted
        roles = json.loads(path.read_text(encoding="utf-8"))
        return str(roles.get(user, "none"))

    def add_reaction(self, repo: str, comment_id: int, content: Reaction = "eyes") -> None:
        self._log(repo, {"kind": "reaction", "comment_id": comment_id, "content": content})

    def _pull(self, repo: str, pr: int) -> dict[str, object]:
        path = self._box(repo) / "pulls" / f"{pr}.json"
        if not path.exists():
            raise GitHostError(f"no pull request #{pr} recorded for {repo} (expected {path})")
        return json.loads(path.read_text(encoding="utf-8"))

    def _log(self, repo: str, record: dict[str, object]) -> None:
        folder = self._box(repo)
        folder.mkdir(parents=True, exist_ok=True)
        record = {"at": datetime.now(UTC).isoformat(), **record}
        with (folder / "outbox.jsonl").open("a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")

    def _box(self, repo: str) -> Path:
        """The outbox folder of ``repo``; a name that is not ``owner/name`` never gets one."""
        folder = self._outbox / _checked_name(repo)
        if not folder.resolve().is_relative_to(self._outbox.resolve()):
            raise GitHostError(f"the outbox of {repo!r} would leave {self._outbox}")
        return folder

    def _repo_dir(self, repo: str) -> Path:
        git_dir = self._repos / _checked_name(repo)
        if ".." in Path(repo).parts or (not (git_dir / ".git").exists() and not git_dir.is_dir()):
            raise GitHostError(f"no local repository for {repo} under {self._repos}")
        return git_dir

    @staticmethod
    def _git(git_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(git_dir), *args], capture_output=True, text=True, check=False
        )


def _checked_name(repo: str) -> str:
    try:
        return valid_full_name(repo)
    except ValueError as exc:
        raise GitHostError(str(exc)) from None
