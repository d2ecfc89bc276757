"""The runs API: ``GET /runs``, ``GET /runs/{id}``, retry, cancel, resolve. Scripts rely on
it: keep it stable (docs/openapi.yaml). The token is checked by ``api/contract.py`` before
any of these run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.auth import route_authorizer
from chalicelib.api.errors import error_response, json_response, response_for
from chalicelib.services import get_services

runs_api = Blueprint(__name__)
_authorizer = route_authorizer()


@runs_api.route("/runs", methods=["GET"], authorizer=_authorizer)
def list_runs() -> Response:
    from pydantic import ValidationError

    from chalicelib.runs.exceptions import RunError
    from chalicelib.runs.query import RunQuery

    params = dict(runs_api.current_request.query_params or {})
    try:
        page = get_services().store.query(RunQuery.model_validate(params))
    except (RunError, ValidationError) as exc:
        return response_for(exc)
    body = {"runs": [run.public() for run in page.runs], "next_cursor": page.next_cursor}
    return json_response(200, body)


@runs_api.route("/runs/{run_id}", methods=["GET"], authorizer=_authorizer)
def get_run(run_id: str) -> Response:
    from chalicelib.runs.exceptions import RunError

    try:
        return json_response(200, get_services().store.get(run_id).public())
    except RunError as exc:
        return response_for(exc)


@runs_api.route("/runs/{run_id}/retry", methods=["POST"], authorizer=_authorizer)
def retry_run(run_id: str) -> Response:
    from chalicelib.flows.operations import retry_run as retry

    return _act(lambda: retry(get_services(), run_id), created=True)


@runs_api.route("/runs/{run_id}/cancel", methods=["POST"], authorizer=_authorizer)
def cancel_run(run_id: str) -> Response:
    from chalicelib.flows.operations import cancel_run as cancel

    return _act(lambda: cancel(get_services(), run_id))


@runs_api.route(
    "/runs/{run_id}/resolve",
    methods=["POST"],
    authorizer=_authorizer,
    content_types=["application/json"],
)
def resolve_run(run_id: str) -> Response:
    from chalicelib.flows.operations import resolve_run as resolve

    body = runs_api.current_request.json_body
    outcome = body.get("as") if isinstance(body, dict) else None
    if not isinstance(outcome, str):
        return error_response(400, "invalid_parameter", 'as: required, "succeeded" or "failed"')
    return _act(lambda: resolve(get_services(), run_id, outcome, _caller()))


def _act(action: Callable[[], Any], created: bool = False) -> Response:
    from chalicelib.runs.exceptions import RunError

    try:
        run = action()
    except RunError as exc:
        return response_for(exc)
    return json_response(201 if created else 200, run.public())


def _caller() -> str | None:
    identity = (runs_api.current_request.context or {}).get("identity") or {}
    return identity.get("userArn") or identity.get("user")
