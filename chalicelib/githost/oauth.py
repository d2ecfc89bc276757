"""GitHub's OAuth web flow and the signed-in user's view of a repository.

The run pages sign users in with the GitHub App's client id and secret: the browser goes to
``{web}/login/oauth/authorize``, comes back with a code, the controller exchanges it at
``{web}/login/oauth/access_token`` and asks ``GET /user`` who that is. Whether the user may
read or write a repository is GitHub's own answer to that user: ``GET /repos/{owner}/{repo}``
with the user's token carries ``permissions``; a 404 (or 403) means no access at all.
Every answer is validated before use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, Field, ValidationError

from chalicelib.githost.base import GitHostError
from chalicelib.githost.http import (
    USER_AGENT,
    GitHubApiError,
    GitHubHttp,
    Transport,
    Urllib3Transport,
)


class OAuthError(GitHostError):
    """The sign-in did not complete: GitHub refused the code, or answered nonsense."""

    status = 401
    code = "sign_in_failed"


class _TokenAnswer(BaseModel):
    access_token: str = Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z0-9_.\-]+$")
    token_type: str = "bearer"


class _User(BaseModel):
    # GitHub's logins: alphanumerics and single hyphens, at most 39 characters.
    login: str = Field(pattern=r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}$", max_length=39)


class _Permissions(BaseModel):
    admin: bool = False
    maintain: bool = False
    push: bool = False
    triage: bool = False
    pull: bool = False


class _Repository(BaseModel):
    full_name: str
    permissions: _Permissions | None = None


class _NoAppCredential:
    """Every call here carries the user's token; the App's credential is never used."""

    def authorization(self, http: GitHubHttp) -> str:
        raise OAuthError("a user call without the user's token")

    def invalidate(self) -> None:
        return None


class GitHubOAuth:
    def __init__(
        self,
        client_id: str,
        client_secret: Callable[[], str],
        api_url: str = "https://api.github.com",
        web_url: str = "https://github.com",
        transport: Transport | None = None,
    ) -> None:
        self.client_id, self._client_secret = client_id, client_secret
        self.web_url = web_url.rstrip("/")
        self._transport = transport or Urllib3Transport()
        self._http = GitHubHttp(
            auth=_NoAppCredential(),
            base_url=api_url.rstrip("/"),
            transport=self._transport,
            max_attempts=2,
        )

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {"client_id": self.client_id, "redirect_uri": redirect_uri, "state": state}
        return f"{self.web_url}/login/oauth/authorize?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str) -> str:
        """The user's access token for ``code``; ``OAuthError`` when GitHub refuses it."""
        body = {
            "client_id": self.client_id,
            "client_secret": self._client_secret(),
            "code": code,
            "redirect_uri": redirect_uri,
        }
        headers = {
            "accept": "application/json",
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }
        url = f"{self.web_url}/login/oauth/access_token"
        try:
            answer = self._transport.send("POST", url, headers, json.dumps(body).encode())
        except OSError:
            raise OAuthError("GitHub could not be reached to finish the sign-in") from None
        try:
            data = answer.json() if answer.status == 200 else None
        except ValueError:
            data = None
        if isinstance(data, Mapping) and "error" in data:
            # GitHub answers a refused code with 200 and an ``error`` field
            raise OAuthError(f"GitHub refused the sign-in: {str(data['error'])[:60]}")
        try:
            return _TokenAnswer.model_validate(data).access_token
        except ValidationError:
            raise OAuthError("GitHub's token answer is not one it documents") from None

    def login(self, token: str) -> str:
        answer = self._get("/user", token)
        try:
            return _User.model_validate(answer).login
        except ValidationError:
            raise OAuthError("GitHub's user answer is not one it documents") from None

    def repository_permissions(self, token: str, repo: str) -> dict[str, bool] | None:
        """GitHub's ``permissions`` of ``repo`` for the user; ``None``: no access at all."""
        try:
            response = self._http.request(
                "GET", f"/repos/{repo}", authorization=f"Bearer {token}", allow=(403, 404)
            )
        except GitHubApiError as exc:
            if exc.github_status == 401:
                return None  # the user's token was revoked
            raise
        if response.status != 200:
            return None
        try:
            found = _Repository.model_validate(response.json())
        except (ValidationError, ValueError):
            return None
        if found.full_name.lower() != repo.lower():
            return None  # a renamed repository redirects: its old name is not this one
        return found.permissions.model_dump() if found.permissions else None

    def _get(self, path: str, token: str) -> Any:
        try:
            return self._http.request("GET", path, authorization=f"Bearer {token}").json()
        except GitHubApiError as exc:
            raise OAuthError(f"GitHub refused {path}: {exc.github_status}") from None
        except ValueError:
            raise OAuthError(f"GitHub's answer to {path} is not JSON") from None
