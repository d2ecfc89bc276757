"""GitHub's REST transport: requests, retries and rate limits, and the ``Auth`` it asks.

Retries: 5xx and connection errors back off exponentially; a secondary rate limit waits for
``Retry-After`` and an exhausted primary one until ``X-RateLimit-Reset``, when that is near.
A longer wait fails at once with ``GitHubRateLimitedError`` (carrying the time to retry), so
that the caller records it on the run instead of holding a Lambda for an hour. urllib3 is
already loaded with boto3, so this client adds almost nothing to a cold start.
"""

from __future__ import annotations

import json as jsonlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from chalicelib.githost.base import GitHostError

API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "maestrops"
RETRY_STATUSES = frozenset({500, 502, 503, 504})


class Auth(Protocol):
    """A GitHub credential (``githost.github_auth``): App installation token or a token."""

    def authorization(self, http: GitHubHttp) -> str:
        """The value of the Authorization header for the next request."""

    def invalidate(self) -> None:
        """Forget a cached credential after GitHub answered 401."""


class GitHubApiError(GitHostError):
    """GitHub answered with an error, after retries; ``record()`` goes onto the run."""

    def __init__(self, method: str, path: str, status: int | None, message: str, attempts: int):
        super().__init__(f"{method} {path}: {status or 'no response'} {message}".strip())
        # ``status`` stays the controller's own HTTP mapping (GitHostError); GitHub's is apart.
        self.method, self.path, self.github_status = method, path, status
        self.message, self.attempts = message, attempts

    def record(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.github_status,
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
