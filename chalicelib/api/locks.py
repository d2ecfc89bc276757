"""The locks API: ``GET /locks``, ``DELETE /locks/{id}`` (same authorization as the runs)."""

from __future__ import annotations

import time
from typing import Literal

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, ValidationError

from chalicelib.api.auth import route_authorizer
from chalicelib.api.errors import json_response, response_for
from chalicelib.services import get_services

locks_api = Blueprint(__name__)
_authorizer = route_authorizer()


class LocksQuery(BaseModel):
    """``GET /locks`` parameters; anything else, or ``all`` other than true/false, is a 400."""

    model_config = ConfigDict(extra="forbid")

    repo: str | None = None
    all: Literal["true", "false"] = "false"


@locks_api.route("/locks", methods=["GET"], authorizer=_authorizer)
def list_locks() -> Response:
    from chalicelib.locks.gate import public_lease
    from chalicelib.runs.query import RunQuery

    params = dict(locks_api.current_request.query_params or {})
    try:
        query = LocksQuery.model_validate(params)
        RunQuery(repo=query.repo)  # one rule for what a repository name may be
    except ValidationError as exc:
        return response_for(exc)
    now = time.time()
    leases = get_services().locks.find(query.repo or None)
    shown = [public_lease(lease, now) for lease in leases]
    if query.all != "true":  # free leases stay stored (their tokens); hide them
        shown = [lock for lock in shown if lock["held"] or lock["expired"] or lock["waiting"]]
    return json_response(200, {"locks": shown})


@locks_api.route("/locks/{lock_id}", methods=["DELETE"], authorizer=_authorizer)
def release_lock(lock_id: str) -> Response:
    from chalicelib.locks.gate import public_lease
    from chalicelib.runs.exceptions import RunError

    services = get_services()
    try:
        lease, promotions = services.locks.release_id(lock_id)
    except RunError as exc:
        return response_for(exc)
    started = services.dispatcher.resume(promotions)
    body = {"lock": public_lease(lease), "dispatched": [run.id for run in started]}
    return json_response(200, body)
