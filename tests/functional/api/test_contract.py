"""The API's contract as an HTTP client sees it on loopback: the token first, one error body
for every error (the gateway's and Chalice's own included), strict filters, bound cursors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.runs.model import Run
from tests.functional.api.conftest import TOKEN, ServedApi
from tests.functional.conftest import REPO

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def call(
    api: ServedApi,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        api.url + path, data=body, method=method, headers=AUTH if headers is None else headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, answer, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, answer, raw = exc.code, dict(exc.headers), exc.read()
    return status, answer, json.loads(raw) if raw else None


def error_of(body: Any) -> str:
    """The code of a body in the one error format, asserting the format on the way."""
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]["code"]


def seed(api: ServedApi, count: int = 7) -> None:
    for number in range(count):
        api.controller.services.store.create(
            Run(
                id=f"run-{number}",
                repo=REPO if number % 2 == 0 else "Codertocat/Other",
                pipeline="terraform-plan",
                sha=f"{number:040d}",
                run_number=number + 1,
                created_at=f"2026-11-2{number}T10:00:00.000Z",
            )
        )


def test_an_unknown_path_is_a_404_in_the_error_format_that_echoes_no_token(
    served_api: ServedApi,
) -> None:
    status, headers, body = call(served_api, "GET", "/nowhere/at/all?x=1")
    assert (status, error_of(body)) == (404, "not_found")
    assert headers["Content-Type"] == "application/json"
    assert TOKEN not in json.dumps(body)
    status, _, body = call(served_api, "GET", "/nowhere", {"Authorization": "Bearer caf\u00e9"})
    assert (status, error_of(body)) == (404, "not_found")  # a non-ASCII header crashed it


def test_a_method_the_path_lacks_is_a_405_with_allow(served_api: ServedApi) -> None:
    for method in ("PUT", "DELETE", "PATCH", "TRACE", "BREW"):
        status, headers, body = call(served_api, method, "/runs")
        assert (status, error_of(body), headers["Allow"]) == (405, "method_not_allowed", "GET")


def test_an_unsupported_media_type_is_a_415_but_only_after_the_token(
    served_api: ServedApi,
) -> None:
    plain = {"Content-Type": "text/plain"}
    status, _, body = call(served_api, "POST", "/runs/x/retry", {**AUTH, **plain}, b"hi")
    assert (status, error_of(body)) == (415, "unsupported_media_type")
    assert "text/plain" not in body["error"]["message"]
    status, _, body = call(served_api, "POST", "/runs/x/retry", plain, b"hi")
    assert (status, error_of(body)) == (401, "unauthorized")


def test_a_body_that_is_not_json_is_a_400_but_only_after_the_token(
    served_api: ServedApi,
) -> None:
    json_type = {"Content-Type": "application/json"}
    status, _, body = call(served_api, "POST", "/runs/x/resolve", {**AUTH, **json_type}, b"{no")
    assert (status, error_of(body)) == (400, "invalid_body")
    status, _, body = call(served_api, "POST", "/runs/x/resolve", json_type, b"{no")
    assert (status, error_of(body)) == (401, "unauthorized")
    status, _, body = call(served_api, "POST", "/runs/x/resolve", {**AUTH, **json_type}, b"[]")
    assert (status, error_of(body)) == (400, "invalid_parameter")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        TOKEN,
        f"Token {TOKEN}",
        f"Bearer {TOKEN}x",
        f"Bearer{TOKEN}",
        "Bearer ",
        "Bearer \u00e9",
    ],
)
def test_only_a_bearer_token_is_accepted(served_api: ServedApi, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in (("GET", "/runs"), ("GET", "/locks"), ("DELETE", "/locks/x")):
        status, _, body = call(served_api, method, path, headers)
        assert (status, error_of(body)) == (401, "unauthorized"), (method, path)
        assert TOKEN not in json.dumps(body)


def test_the_bearer_scheme_is_case_insensitive(served_api: ServedApi) -> None:
    status, _, _ = call(served_api, "GET", "/runs", {"Authorization": f"bearer {TOKEN}"})
    assert status == 200


OUT_OF_RANGE = [
    ("/runs", {"status": "AAA"}, "status"),
    ("/runs", {"pr": "0"}, "pr"),
    ("/runs", {"pr": "-5"}, "pr"),
    ("/runs", {"since": "garbage"}, "since"),
    ("/runs", {"limit": "1000"}, "limit"),
    ("/runs", {"stauts": "failed"}, "stauts"),
    ("/locks", {"all": "AAA"}, "all"),
    ("/locks", {"repo": "../etc"}, "repo"),
    ("/costs", {"repo": REPO, "limit": "0"}, "limit"),
    ("/costs", {}, "repo"),
    ("/costs", {"repo": REPO, "pipeline": "nope"}, "pipeline"),
]


def test_out_of_range_filters_are_400s_naming_the_parameter(served_api: ServedApi) -> None:
    for path, params, parameter in OUT_OF_RANGE:
        status, _, body = call(served_api, "GET", f"{path}?{urlencode(params)}")
        assert (status, error_of(body)) == (400, "invalid_parameter"), (path, params)
        assert body["error"]["message"].startswith(f"{parameter}:"), body


def test_cursors_page_their_own_query_and_nothing_else(served_api: ServedApi) -> None:
    seed(served_api)
    filters = {"repo": REPO, "limit": "2"}
    status, _, first = call(served_api, "GET", f"/runs?{urlencode(filters)}")
    assert status == 200 and first["next_cursor"]
    seen = [run["id"] for run in first["runs"]]
    cursor = first["next_cursor"]
    while cursor:
        status, _, page = call(
            served_api, "GET", f"/runs?{urlencode({**filters, 'cursor': cursor})}"
        )
        assert status == 200
        seen += [run["id"] for run in page["runs"]]
        cursor = page["next_cursor"]
    assert seen == ["run-6", "run-4", "run-2", "run-0"]
    for foreign in (
        {"limit": "2"},
        {"repo": "Codertocat/Other"},
        {"repo": REPO, "status": "queued"},
    ):
        query = urlencode({**foreign, "cursor": first["next_cursor"]})
        status, _, body = call(served_api, "GET", f"/runs?{query}")
        assert (status, error_of(body)) == (400, "invalid_cursor"), foreign


def test_forged_cursors_are_400_invalid_cursor(served_api: ServedApi) -> None:
    seed(served_api, 3)
    for cursor in ("e30", "garbage!", "eyJrIjp7fX0", "%ff%fe"):
        status, _, body = call(served_api, "GET", f"/runs?cursor={cursor}")
        assert (status, error_of(body)) == (400, "invalid_cursor"), cursor


def test_a_forged_cursor_with_the_right_digest_is_still_refused(served_api: ServedApi) -> None:
    """Anyone can compute the digest of the filters: the position inside is checked too."""
    from chalicelib.runs.query import RunQuery, encode_cursor

    seed(served_api, 3)
    query = RunQuery(repo=REPO)
    for key in (
        {"pk": "RUN#run-0", "sk": "RUN"},
        {"pk": "RUN#x", "sk": "RUN", "gsi1pk": "REPO#Codertocat/Other", "gsi1sk": "2026"},
        {"pk": "LOCK#x", "sk": "RUN", "gsi1pk": f"REPO#{REPO}", "gsi1sk": "2026"},
    ):
        cursor = encode_cursor(key, query)
        status, _, body = call(
            served_api, "GET", f"/runs?{urlencode({'repo': REPO, 'cursor': cursor})}"
        )
        assert (status, error_of(body)) == (400, "invalid_cursor"), key
