"""The runs API: ``GET /runs``, ``GET /runs/{id}``. Scripts rely on it: keep it stable."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import bearer_token_problem, route_authorizer
from chalicelib.api.errors import json_response, response_for
from chalicelib.services import get_services

runs_api = Blueprint(__name__)
_authorizer = route_authorizer()


@runs_api.route("/runs", methods=["GET"], authorizer=_authorizer)
def list_runs():
    from chalicelib.runs.exceptions import RunError
    from chalicelib.runs.query import RunQuery

    if (denied := _denied()) is not None:
        return denied
    params = runs_api.current_request.query_params or {}
    try:
        page = get_services().store.query(RunQuery.model_validate(params))
    except (RunError, ValueError) as exc:
        return response_for(exc)
    body = {"runs": [run.public() for run in page.runs], "next_cursor": page.next_cursor}
    return json_response(200, body)


@runs_api.route("/runs/{run_id}", methods=["GET"], authorizer=_authorizer)
def get_run(run_id: str):
    from chalicelib.runs.exceptions import RunError

    if (denied := _denied()) is not None:
        return denied
    try:
        return json_response(200, get_services().store.get(run_id).public())
    except RunError as exc:
        return response_for(exc)


def _denied():
    headers = runs_api.current_request.headers
    return bearer_token_problem(get_services().settings.api_token, headers.get("authorization"))
