"""What comment commands ask GitHub (head, reviews, mergeability), checked against
GitHub's OpenAPI description by the project's fake GitHub server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.githost.base import PullRequestHead, PullRequestState
from chalicelib.githost.github import GitHub
from chalicelib.githost.github_auth import TokenAuth
from chalicelib.githost.http import GitHubHttp
from tests.functional.github.fake_github import FakeGitHub
from tests.functional.github.openapi_check import OpenApiChecker

REPO = "acme/infra"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
_COMMIT = re.compile(r"/repos/[^/]+/[^/]+/commits/([0-9a-f]{40})")
_PULL = re.compile(r"/repos/([^/]+)/([^/]+)/pulls/(\d+)(/reviews)?")


class PullsFakeGitHub(FakeGitHub):
    """The fake, plus the two pull-request endpoints comment commands read."""

    def __init__(self, checker: OpenApiChecker) -> None:
        super().__init__(checker, app_id="1", app_public_key="unused")
        self.pulls: dict[int, dict[str, Any]] = {}
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.commit_times: dict[str, str] = {}

    def _route(self, method: str, path: str, query: dict, body: Any):
        commit = _COMMIT.fullmatch(path)
        if commit is not None and method == "GET" and commit.group(1) in self.commit_times:
            when = self.commit_times[commit.group(1)]
            return 200, {}, {"sha": commit.group(1), "commit": {"committer": {"date": when}}}
        found = _PULL.fullmatch(path)
        if found is None or method != "GET":
            return super()._route(method, path, query, body)
        number = int(found.group(3))
        if number not in self.pulls:
            return 404, {}, {"message": "Not Found"}
        if found.group(4):
            return 200, {}, self.reviews.get(number, [])
        return 200, {}, self.pulls[number]


@pytest.fixture(scope="module")
def checker() -> OpenApiChecker:
    return OpenApiChecker()


@pytest.fixture
def fake(checker: OpenApiChecker) -> Iterator[PullsFakeGitHub]:
    server = PullsFakeGitHub(checker)
    server.personal_tokens.add("ghp_personal")
    server.start()
    yield server
    server.stop()
    assert server.violations == [], "requests GitHub's OpenAPI description does not allow"


@pytest.fixture
def github(fake: PullsFakeGitHub) -> GitHub:
    http = GitHubHttp(
        auth=TokenAuth(lambda: "ghp_personal"), base_url=fake.url, sleep=lambda _: None
    )
    return GitHub(http)


def pull(mergeable: bool | None) -> dict[str, Any]:
    return {
        "number": 7,
        "state": "open",
        "mergeable": mergeable,
        "head": {"sha": SHA, "ref": "infra_features", "repo": {"full_name": REPO}},
        "base": {"sha": "0" * 40, "ref": "infra_main", "repo": {"full_name": REPO}},
    }


def review(user: str, state: str) -> dict[str, Any]:
    return {"user": {"login": user}, "state": state}


def test_head_of_a_pull_request(github: GitHub, fake: PullsFakeGitHub) -> None:
    fake.pulls[7] = pull(True)
    fake.commit_times[SHA] = "2026-11-30T08:00:00Z"
    head = PullRequestHead(SHA, "infra_features", "infra_main", False, "2026-11-30T08:00:00Z")
    assert github.pull_request_head(REPO, 7) == head
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", f"/repos/{REPO}/pulls/7"),
        ("GET", f"/repos/{REPO}/commits/{SHA}"),  # the head's time: commands act on what was seen
    ]


@pytest.mark.parametrize(
    ("head_repo", "fork"),
    [({"full_name": REPO}, False), ({"full_name": "someone/infra"}, True), (None, True)],
)
def test_a_head_in_another_repository_is_a_fork(
    github: GitHub, fake: PullsFakeGitHub, head_repo: dict | None, fork: bool
) -> None:
    data = pull(True)
    data["head"]["repo"] = head_repo  # null: the fork was deleted
    data["base"]["repo"] = {"full_name": REPO}
    fake.pulls[7] = data
    fake.commit_times[SHA] = "2026-11-30T08:00:00Z"
    assert github.pull_request_head(REPO, 7).fork is fork


@pytest.mark.parametrize(
    ("reviews", "mergeable", "expected"),
    [
        ([], True, PullRequestState(approved=False, mergeable=True)),
        ([review("a", "APPROVED")], None, PullRequestState(approved=True, mergeable=False)),
        ([review("a", "APPROVED"), review("b", "CHANGES_REQUESTED")], True,
         PullRequestState(approved=False, mergeable=True)),
        ([review("b", "CHANGES_REQUESTED"), review("b", "APPROVED"), review("c", "COMMENTED")],
         False, PullRequestState(approved=True, mergeable=False)),
    ],
)  # fmt: skip
def test_approval_counts_each_reviewers_latest_review(
    github: GitHub, fake: PullsFakeGitHub, reviews: list, mergeable: bool | None, expected
) -> None:
    fake.pulls[7] = pull(mergeable)
    fake.reviews[7] = reviews
    assert github.pull_request_state(REPO, 7) == expected
    [listing] = [r for r in fake.requests if r.path.endswith("/reviews")]
    assert listing.query == {"per_page": ["100"]}


@pytest.mark.parametrize(
    ("state", "merged", "expected"),
    [("open", False, "open"), ("closed", True, "merged"), ("closed", False, "closed")],
)
def test_pull_request_status_for_the_lock_sweep(
    github: GitHub, fake: PullsFakeGitHub, state: str, merged: bool, expected: str
) -> None:
    fake.pulls[7] = {**pull(True), "state": state, "merged": merged}
    assert github.pull_request_status(REPO, 7) == expected


@pytest.mark.parametrize(
    ("permission", "role"),
    [({"permission": "write", "role_name": "maintain"}, "maintain"), (None, "none")],
)
def test_repository_role_for_cost_approval(
    github: GitHub, fake: PullsFakeGitHub, permission: dict | None, role: str
) -> None:
    if permission is not None:
        fake.permissions[(REPO, "lead")] = permission
    assert github.repository_role(REPO, "lead") == role
