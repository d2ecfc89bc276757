"""GitHub authentication: a GitHub App installation token, or a personal access token.

App: a JWT signed with the App's private key (RS256, valid ten minutes) buys an installation
token (valid one hour). The token is cached and renewed ``refresh_margin`` seconds before it
expires, so a warm Lambda asks GitHub for one at most once an hour. Secrets come from Secrets
Manager through powertools Parameters (which caches them too); they never reach a log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from chalicelib.githost.base import GitHostError
from chalicelib.githost.http import Auth, GitHubHttp
from chalicelib.settings import Settings

__all__ = ["AppAuth", "Auth", "GitHubAuthError", "TokenAuth", "auth_from_settings"]

JWT_LIFETIME = 540  # GitHub accepts at most 10 minutes; stay clear of clock skew
JWT_BACKDATE = 60  # "iat" a minute early, as GitHub recommends for clock drift
TOKEN_REFRESH_MARGIN = 300.0


class GitHubAuthError(GitHostError):
    """The credentials are missing or GitHub refused them."""


class _Named(BaseModel):
    name: str


class ScopedToken(BaseModel):
    """GitHub's answer to a scoped installation token request (the fields we rely on)."""

    token: str = Field(min_length=1)
    expires_at: str
    permissions: dict[str, str]
    repositories: list[_Named]


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

    def repository_token(
        self, http: GitHubHttp, repo_name: str, permissions: dict[str, str]
    ) -> str:
        """A fresh token for one repository of the installation, with only ``permissions``.

        For a runner: never cached nor shared with the controller's own token. GitHub's
        answer is checked, so a token wider than asked for never reaches a runner.
        """
        app_jwt = make_app_jwt(self.app_id, self.load_private_key(), self.clock())
        response = http.request(
            "POST",
            f"/app/installations/{self.installation_id}/access_tokens",
            json={"repositories": [repo_name], "permissions": permissions},
            authorization=f"Bearer {app_jwt}",
        )
        try:
            granted = ScopedToken.model_validate_json(response.data)
        except ValidationError as exc:
            raise GitHubAuthError(
                f"GitHub's installation token answer is malformed: {exc}"
            ) from None
        wider = {k: v for k, v in granted.permissions.items() if permissions.get(k) != v}
        names = [r.name for r in granted.repositories]
        if wider or names != [repo_name]:
            raise GitHubAuthError(
                f"GitHub granted more than asked for: permissions {wider}, repositories {names}"
            )
        return granted.token

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


def auth_from_settings(settings: Settings) -> Auth:
    """App auth when ``MAESTRO_GITHUB_APP_ID`` is set, else a token.

    Variables: ``MAESTRO_GITHUB_APP_ID``, ``MAESTRO_GITHUB_INSTALLATION_ID``,
    ``MAESTRO_GITHUB_PRIVATE_KEY_SECRET`` (secret name) for an App;
    ``MAESTRO_GITHUB_TOKEN_SECRET`` (secret name) for a token.
    """
    if settings.github_app_id:
        missing = [
            variable
            for variable, value in (
                ("MAESTRO_GITHUB_INSTALLATION_ID", settings.github_installation_id),
                ("MAESTRO_GITHUB_PRIVATE_KEY_SECRET", settings.github_private_key_secret),
            )
            if not value
        ]
        if missing or settings.github_installation_id is None:
            raise GitHubAuthError(f"GitHub App auth needs {', '.join(missing)}")
        return AppAuth(
            app_id=settings.github_app_id,
            installation_id=settings.github_installation_id,
            load_private_key=secret_loader(str(settings.github_private_key_secret)),
        )
    if settings.github_token_secret:
        return TokenAuth(load_token=secret_loader(settings.github_token_secret))
    raise GitHubAuthError(
        "no GitHub credentials: set MAESTRO_GITHUB_APP_ID (App) or MAESTRO_GITHUB_TOKEN_SECRET"
    )
