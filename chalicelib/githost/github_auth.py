"""GitHub authentication: a GitHub App installation token, or a personal access token.

App: a JWT signed with the App's private key (RS256, valid ten minutes) buys an installation
token (valid one hour). The token is cached and renewed ``refresh_margin`` seconds before it
expires, so a warm Lambda asks GitHub for one at most once an hour. Secrets come from Secrets
Manager through powertools Parameters (which caches them too); they never reach a log.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.githost.base import GitHostError

if TYPE_CHECKING:  # the HTTP client imports this module; avoid the cycle at run time
    from chalicelib.githost.github import GitHubHttp

JWT_LIFETIME = 540  # GitHub accepts at most 10 minutes; stay clear of clock skew
JWT_BACKDATE = 60  # "iat" a minute early, as GitHub recommends for clock drift
TOKEN_REFRESH_MARGIN = 300.0


class GitHubAuthError(GitHostError):
    """The credentials are missing or GitHub refused them."""


class Auth(Protocol):
    def authorization(self, http: GitHubHttp) -> str:
        """The value of the Authorization header for the next request."""

    def invalidate(self) -> None:
        """Forget a cached credential after GitHub answered 401."""


@dataclass
class TokenAuth:
    """A personal access token (or any token) read through ``load_token``."""

    load_token: Callable[[], str]

    def authorization(self, http: GitHubHttp) -> str:
        return f"Bearer {self.load_token().strip()}"

    def invalidate(self) -> None:
        return None  # powertools' cache expires on its own (max_age)


def make_app_jwt(app_id: str, private_key_pem: str, now: float) -> str:
    """The JWT that authenticates as the App itself (RS256), valid for nine minutes."""
    import jwt  # PyJWT; imported when an App token is first needed, not at cold start

    issued = int(now) - JWT_BACKDATE
    claims = {"iat": issued, "exp": int(now) + JWT_LIFETIME, "iss": str(app_id)}
    try:
        return jwt.encode(claims, private_key_pem, algorithm="RS256")
    except (ValueError, TypeError, jwt.exceptions.InvalidKeyError) as exc:  # not a PEM RSA key
        raise GitHubAuthError(f"the GitHub App private key cannot sign: {exc}") from None


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


@dataclass
class AppAuth:
    """Installation tokens of a GitHub App, cached until shortly before they expire."""

    app_id: str
    installation_id: int
    load_private_key: Callable[[], str]
    clock: Callable[[], float] = time.time
    refresh_margin: float = TOKEN_REFRESH_MARGIN
    _token: str | None = None
    _expires_at: float = 0.0

    def authorization(self, http: GitHubHttp) -> str:
        if self._token is None or self.clock() >= self._expires_at - self.refresh_margin:
            self._token, self._expires_at = self._fetch(http)
        return f"token {self._token}"

    def invalidate(self) -> None:
        self._token = None

    def _fetch(self, http: GitHubHttp) -> tuple[str, float]:
        app_jwt = make_app_jwt(self.app_id, self.load_private_key(), self.clock())
        data: Any = http.request(
            "POST",
            f"/app/installations/{self.installation_id}/access_tokens",
            json={},
            authorization=f"Bearer {app_jwt}",
        ).json()
        return data["token"], _epoch(data["expires_at"])


def secret_loader(name: str, *, max_age: int = 300) -> Callable[[], str]:
    """A function that reads Secrets Manager secret ``name`` through powertools (cached)."""

    def load() -> str:
        from aws_lambda_powertools.utilities import parameters  # lazy: boto3 client on use

        value = parameters.get_secret(name, max_age=max_age)
        if not isinstance(value, str) or not value:
            raise GitHubAuthError(f"secret {name!r} is empty or not a string")
        return value

    return load


def auth_from_env(env: Mapping[str, str] = os.environ) -> Auth:
    """App auth when ``MAESTRO_GITHUB_APP_ID`` is set, else a token.

    Variables: ``MAESTRO_GITHUB_APP_ID``, ``MAESTRO_GITHUB_INSTALLATION_ID``,
    ``MAESTRO_GITHUB_PRIVATE_KEY_SECRET`` (secret name) for an App;
    ``MAESTRO_GITHUB_TOKEN_SECRET`` (secret name) for a token.
    """
    if env.get("MAESTRO_GITHUB_APP_ID"):
        missing = [
            k
            for k in ("MAESTRO_GITHUB_INSTALLATION_ID", "MAESTRO_GITHUB_PRIVATE_KEY_SECRET")
            if not env.get(k)
        ]
        if missing:
            raise GitHubAuthError(f"GitHub App auth needs {', '.join(missing)}")
        return AppAuth(
            app_id=env["MAESTRO_GITHUB_APP_ID"],
            installation_id=int(env["MAESTRO_GITHUB_INSTALLATION_ID"]),
            load_private_key=secret_loader(env["MAESTRO_GITHUB_PRIVATE_KEY_SECRET"]),
        )
    if env.get("MAESTRO_GITHUB_TOKEN_SECRET"):
        return TokenAuth(load_token=secret_loader(env["MAESTRO_GITHUB_TOKEN_SECRET"]))
    raise GitHubAuthError(
        "no GitHub credentials: set MAESTRO_GITHUB_APP_ID (App) or MAESTRO_GITHUB_TOKEN_SECRET"
    )
