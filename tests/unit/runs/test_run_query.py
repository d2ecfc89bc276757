"""The runs query is strict and its cursor bound to it (pure: no store, no HTTP)."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from chalicelib.runs.exceptions import InvalidCursorError
from chalicelib.runs.query import RunQuery, decode_cursor, encode_cursor, normalize_since

KEY = {"pk": "RUN#run-1", "sk": "RUN", "gsi1pk": "REPO#acme/app", "gsi1sk": "2026#run-1"}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"status": "AAA"}, "status"),
        ({"pr": "0"}, "pr"),
        ({"pr": "-5"}, "pr"),
        ({"pr": "seven"}, "pr"),
        ({"since": "garbage"}, "since"),
        ({"since": "2026-13-01"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"pipeline": "terraform-aply"}, "pipeline"),
        ({"repo": "no-slash"}, "repo"),
        ({"repo": "a/b/c"}, "repo"),
        ({"branch": "main\nx"}, "branch"),
        ({"stauts": "failed"}, "stauts"),
        ({"cursor": ""}, "cursor"),
    ],
)
def test_out_of_range_filters_name_their_parameter(params: dict, parameter: str) -> None:
    with pytest.raises(ValidationError) as raised:
        RunQuery.model_validate(params)
    assert raised.value.errors()[0]["loc"] == (parameter,)


def test_valid_filters_pass_and_since_is_normalized_to_the_stored_format() -> None:
    query = RunQuery.model_validate(
        {"repo": "Codertocat/Hello-World", "status": "failed", "pr": "7",
         "pipeline": "gitops-config", "since": "2026-11-25T12:00:00+02:00"}
    )  # fmt: skip
    assert (query.pr, query.since) == (7, "2026-11-25T10:00:00.000Z")
    assert normalize_since("2026-11-25") == "2026-11-25T00:00:00.000Z"
    assert normalize_since("0001-01-01T00:00:00+23:59") == "0001-01-01T00:00:00.000Z"


def test_a_cursor_works_for_its_own_filters_whatever_the_page_size() -> None:
    query = RunQuery(repo="acme/app", status="failed", limit=5)
    cursor = encode_cursor(KEY, query)
    assert decode_cursor(cursor, RunQuery(repo="acme/app", status="failed", limit=50)) == KEY


@pytest.mark.parametrize(
    "other",
    [RunQuery(repo="acme/app"), RunQuery(repo="acme/app", status="succeeded"),
     RunQuery(repo="acme/other", status="failed"), RunQuery(status="failed")],
)  # fmt: skip
def test_a_cursor_reused_under_other_filters_is_refused(other: RunQuery) -> None:
    cursor = encode_cursor(KEY, RunQuery(repo="acme/app", status="failed"))
    with pytest.raises(InvalidCursorError, match="other filters"):
        decode_cursor(cursor, other)


def _b64(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "forged",
    ["e30", "%%%", "\u00e9t\u00e9", _b64([1, 2]), _b64({"k": {}, "q": ""}),
     _b64({"k": {"pk": 1}, "q": ""}), _b64({"k": KEY}), _b64("text"), "A" * 3],
)  # fmt: skip
def test_forged_cursors_are_invalid_cursor_errors(forged: str) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(forged, RunQuery())
