"""Retries, backoff and rate limits, against the fake server with an injected clock."""

from __future__ import annotations

import pytest

from chalicelib.githost.base import CommitStatus
from chalicelib.githost.github import GitHub
from chalicelib.githost.http import (
    GitHubApiError,
    GitHubHttp,
    GitHubRateLimitedError,
    Response,
    retry_delay,
)

from .conftest import Clock
from .fake_github import FakeGitHub, Injected

REPO = "acme/infra"
SHA = "0a3087a6c1d2e3f405162738495a6b7c8d9e0f1a"
STATUS = CommitStatus(context="maestrops/terraform-plan", state="pending", description="queued")


def test_server_errors_back_off_exponentially(
    github: GitHub, fake: FakeGitHub, clock: Clock
) -> None:
    fake.injected.extend(Injected("POST .*/statuses/", status) for status in (502, 503, 500))

    github.set_status(REPO, SHA, STATUS)

    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert len(fake.statuses) == 1


def test_server_errors_give_up_after_the_last_attempt(
    github: GitHub, fake: FakeGitHub, clock: Clock
) -> None:
    fake.injected.extend(Injected("POST .*/statuses/", 502) for _ in range(5))

    with pytest.raises(GitHubApiError) as error:
        github.set_status(REPO, SHA, STATUS)

    assert error.value.github_status == 502
    assert error.value.attempts == 5
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert fake.statuses == []


def test_secondary_rate_limit_waits_for_retry_after(
    github: GitHub, fake: FakeGitHub, clock: Clock
) -> None:
    fake.injected.append(
        Injected(
            "POST .*/comments", 403, {"retry-after": "30"}, {"message": "secondary rate limit"}
        )
    )

    github.post_comment(REPO, 3, "hello", thread="x")

    assert clock.sleeps == [30.0]
    assert fake.thread_bodies(REPO, 3) == ["hello"]


def test_primary_rate_limit_waits_until_a_near_reset(
    github: GitHub, fake: FakeGitHub, clock: Clock
) -> None:
    reset = str(int(clock.now) + 20)
    fake.injected.append(
        Injected(
            "POST .*/statuses/", 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
        )
    )

    github.set_status(REPO, SHA, STATUS)

    assert clock.sleeps == [21.0]
    assert len(fake.statuses) == 1


def test_primary_rate_limit_far_away_fails_at_once(
    github: GitHub, fake: FakeGitHub, clock: Clock
) -> None:
    reset = int(clock.now) + 1800
    fake.injected.append(
        Injected(
            "POST .*/statuses/",
            429,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        )
    )

    with pytest.raises(GitHubRateLimitedError) as error:
        github.set_status(REPO, SHA, STATUS)

    assert error.value.reset_at == reset + 1
    assert error.value.github_status == 429
    assert clock.sleeps == []


def test_a_long_retry_after_fails_at_once(github: GitHub, fake: FakeGitHub, clock: Clock) -> None:
    fake.injected.append(Injected("POST .*/statuses/", 403, {"retry-after": "900"}))

    with pytest.raises(GitHubRateLimitedError) as error:
        github.set_status(REPO, SHA, STATUS)

    assert error.value.reset_at == clock.now + 900
    assert clock.sleeps == []


def test_permission_errors_are_not_retried(github: GitHub, fake: FakeGitHub, clock: Clock) -> None:
    fake.injected.append(
        Injected(
            "POST .*/statuses/", 403, {}, {"message": "Resource not accessible by integration"}
        )
    )

    with pytest.raises(GitHubApiError, match="Resource not accessible"):
        github.set_status(REPO, SHA, STATUS)
    assert clock.sleeps == []


def test_connection_errors_are_retried(fake: FakeGitHub, clock: Clock) -> None:
    from chalicelib.githost.github_auth import TokenAuth

    http = GitHubHttp(
        auth=TokenAuth(lambda: "ghp_personal"),
        base_url="http://127.0.0.1:9",
        sleep=clock.sleep,
        clock=clock,
        max_attempts=3,
    )
    with pytest.raises(GitHubApiError) as error:
        GitHub(http).set_status(REPO, SHA, STATUS)

    assert error.value.record()["status"] is None
    assert error.value.attempts == 3
    assert clock.sleeps == [1.0, 2.0]


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (500, {}, 4.0),
        (404, {}, None),
        (403, {}, None),
        (429, {"retry-after": "7"}, 7.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1010"}, 11.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "5000"}, 4001.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "900"}, 0.0),
    ],
)
def test_retry_delay(status: int, headers: dict[str, str], expected: float | None) -> None:
    response = Response(status, headers, b"")
    assert retry_delay(response, 2, 1000.0, backoff=1.0) == expected
