"""``GET /costs``: the monthly cost of a repository's plans over time."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import route_authorizer, token_problem
from chalicelib.api.errors import error_response, json_response, response_for
from chalicelib.services import get_services

costs_api = Blueprint(__name__)
_authorizer = route_authorizer()


@costs_api.route("/costs", methods=["GET"], authorizer=_authorizer)
def list_costs():
    from chalicelib.runs.costs import cost_history
    from chalicelib.runs.exceptions import RunError

    request = costs_api.current_request
    if (denied := token_problem(request)) is not None:
        return denied
    params = request.query_params or {}
    if not params.get("repo"):
        return error_response(400, "invalid_parameter", "repo: required (owner/name)")
    try:
        limit = int(params.get("limit", 20))
        history = cost_history(
            get_services().store, params["repo"], params.get("pipeline", "terraform-plan"), limit
        )
    except RunError as exc:
        return response_for(exc)
    except ValueError as exc:
        return error_response(400, "invalid_parameter", f"limit: {exc}")
    return json_response(200, history)
