"""The GitHub implementation of ``GitHost``: a thin REST client on urllib3 and the adapter.

urllib3 is already loaded with boto3, so this client adds almost nothing to a cold start
(see docs/github.md for the measurements against PyGithub and githubkit).

Retries: 5xx and connection errors back off exponentially; a secondary rate limit waits for
``Retry-After`` and an exhausted primary one until ``X-RateLimit-Reset``, when that is near.
A longer wait fails at once with ``GitHubRateLimitedError`` (carrying the time to retry), so
that the caller records it on the run instead of holding a Lambda for an hour.
"""

from __future__ import annotations

import json as jsonlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import quote, urlencode

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
    ShaNotFoundError,
)
from chalicelib.githost.github_auth import Auth

API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "maestrops"
RETRY_STATUSES = frozenset({500, 502, 503, 504})
Reaction = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]

MINIMIZE_MUTATION = (
    "mutation($id: ID!) { minimizeComment(input: {subjectId: $id, classifier: OUTDATED}) "
    "{ minimizedComment { isMinimized } } }"
)


class GitHubApiError(GitHostError):
    """GitHub answered with an error, after retries; ``record()`` goes onto the run."""

    def __init__(self, method: str, path: str, status: int | None, message: str, attempts: int):
        super().__init__(f"{method} {path}: {status or 'no response'} {message}".strip())
        self.method, self.path, self.status = method, path, status
        self.message, self.attempts = message, attempts

    def record(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "message": self.message[:500],
            "attempts": self.attempts,
        }


class GitHubRateLimitedError(GitHubApiError):
    """The rate limit is exhausted until ``reset_at`` (epoch seconds)."""

    def __init__(self, method: str, path: str, status: int, reset_at: float, attempts: int):
        super().__init__(method, path, status, f"rate limited until {reset_at:.0f}", attempts)
        self.reset_at = reset_at


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names
    data: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.data) if self.data else None


class Transport(Protocol):
    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        """Send one request; raise ``OSError`` (or a subclass) when no response came."""


class Urllib3Transport:
    """The production transport: one pooled urllib3 connection manager."""

    def __init__(self, timeout: float = 10.0) -> None:
        import urllib3  # lazy, though boto3 has usually imported it already

        self._pool = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3.0, read=timeout), retries=False
        )
        self._errors = (urllib3.exceptions.HTTPError,)

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        try:
            r = self._pool.request(method, url, headers=dict(headers), body=body)
        except self._errors as exc:
            raise OSError(str(exc)) from exc
        return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.data)


def retry_delay(
    response: Response | None, attempt: int, now: float, *, backoff: float
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``; ``None`` when retrying cannot help."""
    if response is None or response.status in RETRY_STATUSES:
        return backoff * 2**attempt
    if response.status not in (403, 429):
        return None
    if "retry-after" in response.headers:  # secondary rate limit
        return float(response.headers["retry-after"])
    if response.headers.get("x-ratelimit-remaining") == "0":  # primary rate limit
        return max(float(response.headers.get("x-ratelimit-reset", now)) - now + 1, 0.0)
    return None  # a plain 403: permissions


@dataclass
class GitHubHttp:
    """GitHub's REST API with auth, retries and rate limits. Clock and sleep are injected."""

    auth: Auth
    base_url: str = API_URL
    transport: Transport | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    max_attempts: int = 5
    backoff: float = 1.0
    max_wait: float = 60.0
    _transport: Transport | None = field(default=None, init=False, repr=False)

    def _send(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Response:
        if self._transport is None:
            self._transport = self.transport or Urllib3Transport()
        return self._transport.send(method, url, headers, body)

    def _headers(self, authorization: str | None, accept: str) -> dict[str, str]:
        return {
            "accept": accept,
            "authorization": authorization or self.auth.authorization(self),
            "user-agent": USER_AGENT,
            "x-github-api-version": API_VERSION,
            "content-type": "application/json",
        }

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        accept: str = "application/vnd.github+json",
        authorization: str | None = None,
        allow: tuple[int, ...] = (),
    ) -> Response:
        """Send with retries; a 2xx (or a status in ``allow``) is returned, others raise."""
        absolute = path.startswith(("https://", "http://"))  # GraphQL on GitHub Enterprise
        url = (path if absolute else self.base_url + path) + (
            f"?{urlencode(params)}" if params else ""
        )
        body = None if json is None else jsonlib.dumps(json).encode()
        response: Response | None = None
        for attempt in range(self.max_attempts):
            try:
                response = self._send(method, url, self._headers(authorization, accept), body)
            except OSError:
                response = None
            if response is not None and (response.status < 300 or response.status in allow):
                return response
            if response is not None and response.status == 401 and authorization is None:
                self.auth.invalidate()  # an expired or revoked token: fetch a new one once
                if attempt == 0:
                    continue
            now = self.clock()
            delay = retry_delay(response, attempt, now, backoff=self.backoff)
            if delay is None or attempt == self.max_attempts - 1:
                break
            if delay > self.max_wait and response is not None:
                # Holding a Lambda until a far reset costs more than failing now: the caller
                # records the error (with the time to retry) on the run.
                raise GitHubRateLimitedError(
                    method, path, response.status, now + delay, attempt + 1
                )
            self.sleep(delay)
        raise _error(method, path, response, attempt + 1)


def _error(method: str, path: str, response: Response | None, attempts: int) -> GitHubApiError:
    if response is None:
        return GitHubApiError(method, path, None, "connection failed", attempts)
    try:
        message = str((response.json() or {}).get("message", ""))
    except ValueError:
        message = response.data[:200].decode(errors="replace")
    return GitHubApiError(method, path, response.status, message, attempts)


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
        return PullRequestHead(head["sha"], head["ref"], base["ref"])

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
    def set_status(self, repo: str, sha: str, status: CommitStatus) -> None:
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


def github_from_env(env: Mapping[str, str] | None = None) -> GitHub:
    """The adapter as the composition root builds it, configured by environment variables.

    ``MAESTRO_GITHUB_API_URL`` (GitHub Enterprise Server: ``https://HOST/api/v3``),
    ``MAESTRO_GITHUB_STATUS_MODE`` (``status`` or ``check-run``), and the credentials of
    ``auth_from_env``.
    """
    import os

    from chalicelib.githost.github_auth import auth_from_env

    env = os.environ if env is None else env
    api_url = env.get("MAESTRO_GITHUB_API_URL", API_URL).rstrip("/")
    mode = env.get("MAESTRO_GITHUB_STATUS_MODE", "status")
    if mode not in ("status", "check-run"):
        raise ValueError(f"MAESTRO_GITHUB_STATUS_MODE must be status or check-run, not {mode!r}")
    # GitHub Enterprise Server serves GraphQL at /api/graphql, beside /api/v3.
    graphql = api_url.removesuffix("/v3") + "/graphql" if api_url.endswith("/api/v3") else None
    http = GitHubHttp(auth=auth_from_env(env), base_url=api_url)
    return GitHub(http, status_mode=mode, graphql_url=graphql)  # type: ignore[arg-type]
