"""The run pages through ``chalice.test.Client`` on moto, signing in through the fake GitHub."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from chalice.test import Client

from app import app
from chalicelib.services import Services, set_services
from tests.functional.conftest import Controller
from tests.functional.github.fake_github import FakeGitHub
from tests.functional.github.openapi_check import OpenApiChecker

CLIENT_ID = "Iv1.pagestest"
CLIENT_SECRET = "pages-client-secret"
READABLE = "Codertocat/Hello-World"
HIDDEN = "Codertocat/Private"


@pytest.fixture(scope="session")
def checker() -> OpenApiChecker:
    return OpenApiChecker()


@pytest.fixture
def fake(checker: OpenApiChecker) -> Iterator[FakeGitHub]:
    server = FakeGitHub(checker, app_id="1", app_public_key="unused").start()
    yield server
    server.stop()
    assert server.violations == [], "requests GitHub's OpenAPI description does not allow"
    assert server.oauth_violations == [], "web-flow requests GitHub does not document"


@pytest.fixture
def pages(controller: Controller, fake: FakeGitHub) -> Iterator[Services]:
    """The controller's services, with the fake GitHub as the OAuth provider."""
    settings = controller.services.settings.model_copy(
        update={
            "oauth_client_id": CLIENT_ID,
            "oauth_client_secret": CLIENT_SECRET,
            "github_api_url": fake.url,
            "github_web_url": fake.url,
        }
    )
    fake.oauth_apps[CLIENT_ID] = (CLIENT_SECRET, f"{settings.public_url}/ui/oauth/callback")
    services = Services(settings, backends=controller.services.backends)
    set_services(services)
    yield services
    set_services(controller.services)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Browser:
    """A cookie jar over the test client: what a browser keeps between requests."""

    client: Client
    cookies: dict[str, str] = field(default_factory=dict)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**({"Cookie": jar} if jar else {}), **(extra or {})}

    def _keep(self, response: Any) -> Any:
        raw = response.headers.get("Set-Cookie") or response.headers.get("set-cookie") or []
        for line in [raw] if isinstance(raw, str) else raw:
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return self._keep(self.client.http.get(path, headers=self._headers(headers)))

    def post(self, path: str, fields: dict[str, str], headers: dict[str, str] | None = None):
        form = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        body = urlencode(fields)
        return self._keep(self.client.http.post(path, headers=self._headers(form), body=body))

    def csrf(self, path: str = "/ui/runs") -> str:
        page = self.get(path).body.decode()
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found, page
        return found.group(1)

    def sign_in_with_github(self, fake: FakeGitHub, login: str) -> Any:
        """The whole web flow: our login form, GitHub's consent, our callback."""
        fake.browser_login = login
        page = self.get("/ui/login").body.decode()
        state = re.search(r'name="state" value="([^"]+)"', page)
        assert state, page
        to_github = self.post("/ui/login", {"state": state.group(1), "via": "github"})
        assert to_github.status_code == 303, to_github.body
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            opener.open(to_github.headers["Location"])
            raise AssertionError("GitHub's authorize page did not redirect")
        except urllib.error.HTTPError as answer:
            assert answer.code == 302
            back = answer.headers["Location"]
        parts = urlsplit(back)
        return self.get(f"{parts.path}?{parts.query}")


@pytest.fixture
def browser(pages: Services) -> Iterator[Browser]:
    with Client(app) as client:
        yield Browser(client)
