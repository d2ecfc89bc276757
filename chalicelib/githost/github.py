"""The GitHub implementation of ``GitHost``: a thin REST client on urllib3 and the adapter.

urllib3 is already loaded with boto3, so this client adds almost nothing to a cold start
(see docs/github.md for the measurements against PyGithub and githubkit).

Retries: 5xx and connection errors back off exponentially; a secondary rate limit waits for
``Retry-After`` and an exhausted primary one until ``X-RateLimit-Reset``, when that is near.
A longer wait fails at once with ``GitHubRateLimitedError`` (carrying the time to retry), so
that the caller records it on the run instead of holding a Lambda for an hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from chalicelib.feedback.markers import (
    RunMarker,
    may_overwrite,
    may_overwrite_marker,
    parse_run_marker,
    parse_thread,
    parse_url_marker,
    part_thread,
)
from chalicelib.githost.base import (
    CommentBehaviour,
    CommitStatus,
    GitHostError,
    PullRequestHead,
    PullRequestState,
    Reaction,
    ShaNotFoundError,
)
from chalicelib.githost.http import (
    GitHubApiError,
    GitHubHttp,
)
from chalicelib.settings import Settings

MINIMIZE_MUTATION = (
    "mutation($id: ID!) { minimizeComment(input: {subjectId: $id, classifier: OUTDATED}) "
    "{ minimizedComment { isMinimized } } }"
)


def _split_repo(repo: str) -> str:
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise ValueError(f"repository must be 'owner/name', got {repo!r}")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _is_stale_part(name: str, thread: str, parts: int) -> bool:
    prefix = f"{thread}/part-"
    if not name.startswith(prefix) or not name[len(prefix) :].isdigit():
        return False
    return int(name[len(prefix) :]) > parts


@dataclass(frozen=True)
class IssueComment:
    id: int
    node_id: str
    body: str
    thread: str | None


class GitHub:
    """``GitHost`` on GitHub, plus what comment commands need (permissions, reactions)."""

    def __init__(
        self,
        http: GitHubHttp,
        *,
        status_mode: Literal["status", "check-run"] = "status",
        graphql_url: str | None = None,
    ) -> None:
        self.http = http
        self.status_mode = status_mode
        self._graphql_path = graphql_url or "/graphql"

    # -- runner credentials --------------------------------------------------------------
    def runner_token(self, repo: str, permissions: dict[str, str]) -> str | None:
        """An installation token for ``repo`` alone with ``permissions``; None without an
        App (a personal token cannot be narrowed, so runners get none)."""
        from chalicelib.githost.github_auth import AppAuth

        if not isinstance(self.http.auth, AppAuth):
            return None
        return self.http.auth.repository_token(self.http, repo.partition("/")[2], permissions)

    # -- files ---------------------------------------------------------------------------
    def read_file(self, repo: str, path: str, sha: str) -> str | None:
        base = _split_repo(repo)
        response = self.http.request(
            "GET",
            f"{base}/contents/{quote(path.lstrip('/'))}",
            params={"ref": sha},
            accept="application/vnd.github.raw+json",
            allow=(404,),
        )
        if response.status == 200:
            try:
                return response.data.decode("utf-8")
            except UnicodeDecodeError as exc:  # a failed run naming the file, not a poison message
                raise GitHostError(
                    f"{path} at {sha[:12]} is not UTF-8 text: {exc.reason} at byte {exc.start}"
                ) from None
        commit = self.http.request("GET", f"{base}/commits/{sha}", allow=(404, 422))
        if commit.status != 200:
            raise ShaNotFoundError(f"{repo} has no commit {sha}")
        return None

    # -- comments ------------------------------------------------------------------------
    def thread_comments(self, repo: str, pr: int, thread: str) -> list[IssueComment]:
        """The PR's comments that carry ``thread``'s marker, oldest first."""
        return [c for c in self._comments(repo, pr) if c.thread == thread]

    def _comments(self, repo: str, pr: int) -> Iterator[IssueComment]:
        path = f"{_split_repo(repo)}/issues/{pr}/comments"
        for page in range(1, 1000):
            items = self.http.request("GET", path, params={"per_page": 100, "page": page}).json()
            for item in items:
                body = item.get("body") or ""
                yield IssueComment(item["id"], item["node_id"], body, parse_thread(body))
            if len(items) < 100:
                return

    def post_comment(
        self, repo: str, pr: int, body: str, *, thread: str, behaviour: CommentBehaviour = "update"
    ) -> str:
        """Post ``body`` as ``thread``'s comment; an older result never replaces a newer one.

        When the newest comment of the thread was written by a newer run, nothing is written
        and that comment's id is returned.
        """
        existing = self.thread_comments(repo, pr, thread)
        return self._post(repo, pr, body, existing, behaviour)

    def post_comment_parts(
        self,
        repo: str,
        pr: int,
        bodies: list[str],
        *,
        thread: str,
        behaviour: CommentBehaviour = "update",
    ) -> list[str]:
        """Post the numbered comments of a split result (``bodies[0]`` is ``thread`` itself).

        Lists the PR's comments once; parts left over from a longer earlier result
        (``thread/part-5`` when there are now 4 parts) are deleted, or minimized with
        ``hide-and-new``, unless a newer run wrote them.
        """
        by_thread: dict[str, list[IssueComment]] = {}
        for comment in self._comments(repo, pr):
            if comment.thread:
                by_thread.setdefault(comment.thread, []).append(comment)
        ids = [
            self._post(repo, pr, body, by_thread.get(part_thread(thread, n), []), behaviour)
            for n, body in enumerate(bodies, start=1)
        ]
        marker = parse_run_marker(bodies[0]) if bodies else None
        for name, comments in by_thread.items():
            if _is_stale_part(name, thread, len(bodies)):
                for old in comments:
                    if may_overwrite(old.body, marker):
                        self._retire(repo, old, behaviour)
        return ids

    def _post(
        self, repo: str, pr: int, body: str, existing: list[IssueComment], behaviour: str
    ) -> str:
        newest = existing[-1] if existing else None
        if newest is not None and not may_overwrite(newest.body, parse_run_marker(body)):
            return str(newest.id)
        base = _split_repo(repo)
        if behaviour == "update" and newest is not None:
            self.http.request("PATCH", f"{base}/issues/comments/{newest.id}", json={"body": body})
            return str(newest.id)
        created = self.http.request("POST", f"{base}/issues/{pr}/comments", json={"body": body})
        if behaviour == "hide-and-new" and newest is not None:
            # The older ones were hidden when they were superseded in turn.
            self.minimize_comment(newest.node_id)
        elif behaviour == "delete-and-new":
            for old in existing:
                self._retire(repo, old, behaviour)
        return str(created.json()["id"])

    def _retire(self, repo: str, comment: IssueComment, behaviour: str) -> None:
        if behaviour == "hide-and-new":
            self.minimize_comment(comment.node_id)
        else:
            path = f"{_split_repo(repo)}/issues/comments/{comment.id}"
            self.http.request("DELETE", path, allow=(404,))

    def minimize_comment(self, node_id: str) -> None:
        """Hide a comment as outdated (GraphQL ``minimizeComment``; REST has no equivalent)."""
        payload = {"query": MINIMIZE_MUTATION, "variables": {"id": node_id}}
        data = self.http.request("POST", self._graphql_path, json=payload).json() or {}
        if data.get("errors"):
            raise GitHubApiError("POST", "/graphql", 200, str(data["errors"])[:300], 1)

    def add_reaction(self, repo: str, comment_id: int, content: Reaction = "eyes") -> None:
        """Acknowledge a comment command."""
        path = f"{_split_repo(repo)}/issues/comments/{comment_id}/reactions"
        self.http.request("POST", path, json={"content": content})

    # -- pull requests -------------------------------------------------------------------
    def pull_request_head(self, repo: str, pr: int) -> PullRequestHead:
        """The PR's head sha and branches now (comment commands act on the current head)."""
        data = self.http.request("GET", f"{_split_repo(repo)}/pulls/{pr}").json()
        head, base = data["head"], data["base"]
        head_repo = (head.get("repo") or {}).get("full_name")  # null: the fork was deleted
        base_repo = (base.get("repo") or {}).get("full_name") or repo
        commit = self.http.request("GET", f"{_split_repo(repo)}/commits/{head['sha']}")
        committer = (commit.json().get("commit") or {}).get("committer") or {}
        return PullRequestHead(
            head["sha"],
            head["ref"],
            base["ref"],
            fork=head_repo != base_repo,
            head_time=committer.get("date"),
        )

    def pull_request_state(self, repo: str, pr: int) -> PullRequestState:
        """Approved (each reviewer's latest review counts) and mergeable, for ``apply``."""
        base = f"{_split_repo(repo)}/pulls/{pr}"
        pull = self.http.request("GET", base).json()
        reviews = self.http.request("GET", f"{base}/reviews", params={"per_page": 100}).json()
        latest: dict[str, str] = {}
        for review in reviews or []:
            user = (review.get("user") or {}).get("login") or ""
            if review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[user] = review["state"]
        states = set(latest.values())
        approved = "APPROVED" in states and "CHANGES_REQUESTED" not in states
        return PullRequestState(approved=approved, mergeable=pull.get("mergeable") is True)

    def pull_request_status(self, repo: str, pr: int) -> str:
        """``open``, ``merged`` or ``closed`` (without merge): the lock sweep's question."""
        pull = self.http.request("GET", f"{_split_repo(repo)}/pulls/{pr}").json()
        if pull.get("state") == "open":
            return "open"
        return "merged" if pull.get("merged") or pull.get("merged_at") else "closed"

    # -- permissions ---------------------------------------------------------------------
    def has_write_access(self, repo: str, user: str) -> bool:
        """Whether ``user`` may run comment commands: write, maintain or admin on ``repo``."""
        path = f"{_split_repo(repo)}/collaborators/{quote(user, safe='')}/permission"
        response = self.http.request("GET", path, allow=(404,))
        if response.status == 404:
            return False
        data = response.json()
        return data.get("permission") in ("admin", "write") or data.get("role_name") in (
            "admin",
            "maintain",
            "write",
        )

    def repository_role(self, repo: str, user: str) -> str:
        """``admin``, ``maintain``, ``write``, ``triage``, ``read`` or ``none`` (cost approval)."""
        path = f"{_split_repo(repo)}/collaborators/{quote(user, safe='')}/permission"
        response = self.http.request("GET", path, allow=(404,))
        if response.status == 404:
            return "none"
        data = response.json()
        return str(data.get("role_name") or data.get("permission") or "none")

    # -- statuses ------------------------------------------------------------------------
    def set_status(
        self, repo: str, sha: str, status: CommitStatus, *, pr: int | None = None
    ) -> None:
        """Set a status (or check run); skipped when a newer run already set this context.

        The run's order travels in ``target_url``'s fragment (``with_url_marker``); a status
        without one is always written.
        """
        new = parse_url_marker(status.target_url)
        if new is not None and not may_overwrite_marker(
            self._current_marker(repo, sha, status), new
        ):
            return
        if self.status_mode == "check-run":
            self._set_check_run(repo, sha, status)
            return
        payload: dict[str, Any] = {
            "state": status.state,
            "context": status.context,
            "description": status.description[:140],
        }
        if status.target_url:
            payload["target_url"] = status.target_url
        self.http.request("POST", f"{_split_repo(repo)}/statuses/{sha}", json=payload)

    def _current_marker(self, repo: str, sha: str, status: CommitStatus) -> RunMarker | None:
        base = _split_repo(repo)
        if self.status_mode == "check-run":
            params: dict[str, str | int] = {"check_name": status.context, "filter": "latest"}
            data = self.http.request(
                "GET", f"{base}/commits/{sha}/check-runs", params=params
            ).json()
            urls = [run.get("details_url") for run in data.get("check_runs", [])]
        else:
            # Newest first: the first status of our context is the one GitHub shows.
            items = self.http.request(
                "GET", f"{base}/commits/{sha}/statuses", params={"per_page": 100}
            ).json()
            urls = [s.get("target_url") for s in items if s.get("context") == status.context][:1]
        markers = [m for m in map(parse_url_marker, urls) if m is not None]
        return max(markers, key=RunMarker.order_key, default=None)

    def _set_check_run(self, repo: str, sha: str, status: CommitStatus) -> None:
        # A check run with the same name on the same sha supersedes the earlier one in the UI.
        payload: dict[str, Any] = {
            "name": status.context,
            "head_sha": sha,
            "output": {"title": status.description[:140], "summary": status.description},
        }
        if status.state == "pending":
            payload["status"] = "in_progress"
        else:
            payload["status"] = "completed"
            payload["conclusion"] = "success" if status.state == "success" else "failure"
        if status.target_url:
            payload["details_url"] = status.target_url
        self.http.request("POST", f"{_split_repo(repo)}/check-runs", json=payload)


def github_from_settings(settings: Settings) -> GitHub:
    """The adapter as the composition root builds it.

    ``MAESTRO_GITHUB_API_URL`` (GitHub Enterprise Server: ``https://HOST/api/v3``),
    ``MAESTRO_GITHUB_STATUS_MODE`` (``status`` or ``check-run``), and the credentials of
    ``auth_from_settings``.
    """
    from chalicelib.githost.github_auth import auth_from_settings

    api_url = settings.github_api_url.rstrip("/")
    mode = settings.github_status_mode
    if mode not in ("status", "check-run"):
        raise ValueError(f"MAESTRO_GITHUB_STATUS_MODE must be status or check-run, not {mode!r}")
    # GitHub Enterprise Server serves GraphQL at /api/graphql, beside /api/v3.
    graphql = api_url.removesuffix("/v3") + "/graphql" if api_url.endswith("/api/v3") else None
    http = GitHubHttp(auth=auth_from_settings(settings), base_url=api_url)
    return GitHub(http, status_mode=mode, graphql_url=graphql)  # type: ignore[arg-type]
