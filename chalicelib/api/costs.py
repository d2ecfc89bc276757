"""``GET /costs``: the monthly cost of a repository's plans over time."""

from __future__ import annotations

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.api.auth import route_authorizer
from chalicelib.api.errors import json_response, response_for
from chalicelib.services import get_services

costs_api = Blueprint(__name__)
_authorizer = route_authorizer()


class CostsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo: str
    pipeline: str = "terraform-plan"
    limit: int = Field(default=20, ge=1, le=100)


@costs_api.route("/costs", methods=["GET"], authorizer=_authorizer)
def list_costs() -> Response:
    from chalicelib.runs.costs import cost_history
    from chalicelib.runs.exceptions import RunError
    from chalicelib.runs.query import RunQuery

    params = dict(costs_api.current_request.query_params or {})
    try:
        query = CostsQuery.model_validate(params)
        RunQuery(repo=query.repo, pipeline=query.pipeline)  # the runs' rules for both names
        history = cost_history(get_services().store, query.repo, query.pipeline, query.limit)
    except (RunError, ValidationError) as exc:
        return response_for(exc)
    return json_response(200, history)
