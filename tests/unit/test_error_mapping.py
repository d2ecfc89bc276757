"""Every controller error reaches HTTP through one mapping, with its own status and code."""

from __future__ import annotations

import json

import pytest

from chalicelib.api.errors import response_for
from chalicelib.errors import ControllerError
from chalicelib.events.exceptions import MalformedPayloadError, SignatureError
from chalicelib.flows.operations import NotRetryableError
from chalicelib.locks.exceptions import LockNotFoundError
from chalicelib.runs.exceptions import InvalidCursorError, RunNotFoundError


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (RunNotFoundError("run x not found"), 404, "run_not_found"),
        (InvalidCursorError("bad cursor"), 400, "invalid_cursor"),
        (LockNotFoundError("no lock"), 404, "lock_not_found"),
        (NotRetryableError("running"), 409, "not_retryable"),
        (MalformedPayloadError("push payload: ref: missing"), 400, "malformed_payload"),
        (SignatureError("bad"), 401, "invalid_signature"),
    ],
)
def test_errors_map_to_their_status_and_code(
    error: ControllerError, status: int, code: str
) -> None:
    response = response_for(error)
    assert response.status_code == status
    assert json.loads(response.body) == {"error": {"code": code, "message": str(error)}}


def test_anything_else_is_not_swallowed() -> None:
    with pytest.raises(KeyError):
        response_for(KeyError("bug"))
