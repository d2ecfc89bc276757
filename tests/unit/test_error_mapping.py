"""Every controller error reaches HTTP through one mapping, with its own status and code."""

from __future__ import annotations

import json

import pytest
from chalice import Response
from pydantic import ValidationError

from chalicelib.api.contract import uniform_error
from chalicelib.api.errors import response_for
from chalicelib.errors import ControllerError
from chalicelib.events.exceptions import MalformedPayloadError, SignatureError
from chalicelib.flows.operations import (
    AlreadyRetriedError,
    NotRetryableError,
    PermanentRetryError,
    RetryLimitError,
)
from chalicelib.locks.exceptions import LockNotFoundError
from chalicelib.runs.exceptions import InvalidCursorError, RunNotFoundError


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (RunNotFoundError("run x not found"), 404, "run_not_found"),
        (InvalidCursorError("bad cursor"), 400, "invalid_cursor"),
        (LockNotFoundError("no lock"), 404, "lock_not_found"),
        (NotRetryableError("running"), 409, "not_retryable"),
        (AlreadyRetriedError("retried as run-2"), 409, "already_retried"),
        (RetryLimitError("third retry"), 409, "retry_limit"),
        (PermanentRetryError(".gitops.yml: bad"), 422, "permanent_error"),
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


def test_a_validation_error_names_the_parameter() -> None:
    from chalicelib.runs.query import RunQuery

    with pytest.raises(ValidationError) as raised:
        RunQuery.model_validate({"pr": "0"})
    body = json.loads(response_for(raised.value).body)
    assert body["error"]["code"] == "invalid_parameter"
    assert body["error"]["message"].startswith("pr: ")


@pytest.mark.parametrize(
    ("status", "chalice_code", "code"),
    [
        (405, "MethodNotAllowedError", "method_not_allowed"),
        (415, "UnsupportedMediaType", "unsupported_media_type"),
        (400, "BadRequestError", "invalid_body"),
        (500, "InternalServerError", "internal_error"),
        (500, "SomethingNew", "internal_error"),
    ],
)
def test_chalice_errors_are_rewritten_in_the_one_format(
    status: int, chalice_code: str, code: str
) -> None:
    echoed = "Bearer s3cret text/evil"
    chalice_error = Response(
        body={"Code": chalice_code, "Message": f"Unsupported: {echoed}"},
        status_code=status,
        headers={"Allow": "GET"},
    )
    shaped = uniform_error(chalice_error)
    assert shaped.status_code == status
    body = json.loads(shaped.body)
    assert body["error"]["code"] == code and echoed not in body["error"]["message"]
    assert shaped.headers["Allow"] == "GET"


def test_answers_that_are_not_chalice_errors_pass_untouched() -> None:
    ours = response_for(RunNotFoundError("run x not found"))
    assert uniform_error(ours) is ours
    ok = Response(body={"Code": "not an error"}, status_code=200)
    assert uniform_error(ok) is ok


def test_every_error_that_reaches_the_api_has_one_base_and_its_own_code() -> None:
    from chalicelib.backends.base import DispatchError
    from chalicelib.costs.exceptions import CostError
    from chalicelib.errors import ControllerError
    from chalicelib.githost.base import GitHostError
    from chalicelib.locks.exceptions import LockError
    from chalicelib.pipelines.config import ConfigError

    classes = (ConfigError, CostError, DispatchError, GitHostError, LockError)
    assert all(issubclass(cls, ControllerError) for cls in classes)
    answers = {cls: json.loads(response_for(cls("why")).body) for cls in classes}
    codes = {answer["error"]["code"] for answer in answers.values()}
    assert len(codes) == len(classes) and "internal_error" not in codes
    assert all(answer["error"]["message"] == "why" for answer in answers.values())
