from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.githost.github import GitHub
from chalicelib.githost.github_auth import AppAuth, TokenAuth
from chalicelib.githost.http import GitHubHttp

from .fake_github import FakeGitHub, app_key_pair
from .openapi_check import OpenApiChecker

APP_ID = "424242"
T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC).timestamp()  # the fake's tokens expire at 09:00
INSTALLATION_ID = 77


@pytest.fixture(scope="session")
def checker() -> OpenApiChecker:
    return OpenApiChecker()


@pytest.fixture(scope="session")
def app_key() -> tuple[str, str]:
    return app_key_pair()


@pytest.fixture
def fake(checker: OpenApiChecker, app_key: tuple[str, str]) -> Iterator[FakeGitHub]:
    server = FakeGitHub(checker, app_id=APP_ID, app_public_key=app_key[1]).start()
    server.personal_tokens.add("ghp_personal")
    yield server
    server.stop()
    assert server.violations == [], "requests GitHub's OpenAPI description does not allow"


class Clock:
    """Epoch seconds that tests move by hand; ``sleep`` advances it and records the waits."""

    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def http(fake: FakeGitHub, clock: Clock) -> GitHubHttp:
    return GitHubHttp(
        auth=TokenAuth(lambda: "ghp_personal"),
        base_url=fake.url,
        sleep=clock.sleep,
        clock=clock,
    )


@pytest.fixture
def github(http: GitHubHttp) -> GitHub:
    return GitHub(http)


@pytest.fixture
def app_http(fake: FakeGitHub, clock: Clock, app_key: tuple[str, str]) -> GitHubHttp:
    auth = AppAuth(
        app_id=APP_ID,
        installation_id=INSTALLATION_ID,
        load_private_key=lambda: app_key[0],
        clock=clock,
    )
    return GitHubHttp(auth=auth, base_url=fake.url, sleep=clock.sleep, clock=clock)
