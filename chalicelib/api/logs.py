"""``GET /runs/{id}/logs``: a run's step logs while they grow, for scripts and ``maestro runs
logs``. Authorized as the runs API (IAM deployed, the bearer token locally); the run pages
serve the same ``read_logs`` behind their session."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.auth import route_authorizer
from chalicelib.api.errors import error_response, json_response, response_for
from chalicelib.services import get_services

logs_api = Blueprint(__name__)
_authorizer = route_authorizer()
QUERY_PARAMETERS = frozenset({"step", "after"})


@logs_api.route("/runs/{run_id}/logs", methods=["GET"], authorizer=_authorizer)
def get_logs(run_id: str) -> Response:
    from chalicelib.flows.logs import read_logs
    from chalicelib.runs.exceptions import RunError

    params = dict(logs_api.current_request.query_params or {})
    unknown = sorted(set(params) - QUERY_PARAMETERS)
    if unknown:
        return error_response(400, "invalid_parameter", "only step and after are accepted")
    if params.get("step") == "":
        return error_response(400, "invalid_parameter", "step: must not be empty")
    step, after = params.get("step"), params.get("after") or None
    if after is not None and step is None:
        return error_response(400, "invalid_parameter", "after: needs step")
    try:
        return json_response(200, read_logs(get_services(), run_id, step, after))
    except RunError as exc:
        return response_for(exc)
