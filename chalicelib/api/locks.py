"""The locks API: ``GET /locks``, ``DELETE /locks/{id}`` (same authorization as the runs)."""

from __future__ import annotations

import time

from chalice import Blueprint

from chalicelib.api.auth import route_authorizer, token_problem
from chalicelib.api.errors import json_response, response_for
from chalicelib.services import get_services

locks_api = Blueprint(__name__)
_authorizer = route_authorizer()


@locks_api.route("/locks", methods=["GET"], authorizer=_authorizer)
def list_locks():
    from chalicelib.locks.gate import public_lease

    if (denied := token_problem(locks_api.current_request)) is not None:
        return denied
    params = locks_api.current_request.query_params or {}
    now = time.time()
    leases = get_services().locks.find(params.get("repo") or None)
    shown = [public_lease(lease, now) for lease in leases]
    if params.get("all") != "true":  # free leases stay stored (their tokens); hide them
        shown = [lock for lock in shown if lock["held"] or lock["expired"] or lock["waiting"]]
    return json_response(200, {"locks": shown})


@locks_api.route("/locks/{lock_id}", methods=["DELETE"], authorizer=_authorizer)
def release_lock(lock_id: str):
    from chalicelib.locks.gate import public_lease
    from chalicelib.runs.exceptions import RunError

    if (denied := token_problem(locks_api.current_request)) is not None:
        return denied
    services = get_services()
    try:
        lease, promotions = services.locks.release_id(lock_id)
    except RunError as exc:
        return response_for(exc)
    started = services.dispatcher.resume(promotions)
    body = {"lock": public_lease(lease), "dispatched": [run.id for run in started]}
    return json_response(200, body)
