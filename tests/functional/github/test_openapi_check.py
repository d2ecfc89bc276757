"""The checker itself: it must refuse what GitHub's description does not allow."""

from __future__ import annotations

import json

import pytest

from chalicelib.githost.github import MINIMIZE_MUTATION
from chalicelib.githost.http import GitHubHttp

from .fake_github import FakeGitHub
from .openapi_check import OpenApiChecker, check_minimize_comment


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("POST", "/repos/o/r/issues/12/comments", {}, {"body": "x"}),
        ("PATCH", "/repos/o/r/issues/comments/55", {}, {"body": "x"}),
        ("GET", "/repos/o/r/issues/12/comments", {"per_page": ["100"], "page": ["2"]}, None),
        ("GET", "/repos/o/r/contents/infra/prod/main.tf", {"ref": ["abc"]}, None),
        (
            "POST",
            "/repos/o/r/statuses/abc",
            {},
            {"state": "pending", "context": "c", "description": "d"},
        ),
        ("GET", "/repos/o/r/collaborators/octocat/permission", {}, None),
    ],
)
def test_allowed_requests(
    checker: OpenApiChecker, method: str, path: str, query: dict, body: object
) -> None:
    raw = None if body is None else json.dumps(body).encode()
    assert checker.check(method, path, query, raw) == []


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "problem"),
    [
        ("PUT", "/repos/o/r/issues/12/comments", {}, None, "PUT is not allowed"),
        ("GET", "/repos/o/r/no-such-thing", {}, None, "no such path"),
        (
            "GET",
            "/repos/o/r/issues/12/comments",
            {"perpage": ["1"]},
            None,
            "'perpage' is not declared",
        ),
        ("GET", "/repos/o/r/issues/12/comments", {"per_page": ["many"]}, None, "not an integer"),
        ("PATCH", "/repos/o/r/issues/comments/abc", {}, {"body": "x"}, "not an integer"),
        (
            "POST",
            "/repos/o/r/issues/12/comments",
            {},
            {"text": "x"},
            "'body' is a required property",
        ),
        (
            "POST",
            "/repos/o/r/issues/12/comments",
            {},
            {"body": "x", "bdy": "y"},
            "unknown key 'bdy'",
        ),
        (
            "POST",
            "/repos/o/r/statuses/abc",
            {},
            {"state": "running", "context": "c"},
            "'running' is not one of",
        ),
        (
            "POST",
            "/repos/o/r/issues/comments/5/reactions",
            {},
            {"content": "wave"},
            "'wave' is not one of",
        ),
        ("DELETE", "/repos/o/r/issues/comments/5", {}, {"x": 1}, "takes no request body"),
    ],
)
def test_refused_requests(
    checker: OpenApiChecker, method: str, path: str, query: dict, body: object, problem: str
) -> None:
    raw = None if body is None else json.dumps(body).encode()
    problems = checker.check(method, path, query, raw)
    assert problems and problem in problems[0]


def test_minimize_comment_shape() -> None:
    good = json.dumps({"query": MINIMIZE_MUTATION, "variables": {"id": "IC_kw1"}}).encode()
    assert check_minimize_comment(good) == ([], "IC_kw1")

    wrong_classifier = MINIMIZE_MUTATION.replace("OUTDATED", "OLD")
    bad = json.dumps({"query": wrong_classifier, "variables": {"id": "IC_kw1"}}).encode()
    assert "unknown classifier OLD" in check_minimize_comment(bad)[0][0]

    no_var = json.dumps({"query": MINIMIZE_MUTATION, "variables": {}}).encode()
    assert "must be a node id" in check_minimize_comment(no_var)[0][0]

    other = json.dumps({"query": "query { viewer { login } }"}).encode()
    assert "unexpected query" in check_minimize_comment(other)[0][0]


def test_the_fake_server_refuses_and_records_a_bad_request(
    http: GitHubHttp, fake: FakeGitHub
) -> None:
    response = http.request("POST", "/repos/o/r/statuses/abc", json={"state": "done"}, allow=(422,))

    assert response.status == 422
    assert fake.violations and "'done' is not one of" in fake.violations[0]
    fake.violations.clear()  # seen: this test is about the violation itself
