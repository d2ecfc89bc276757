"""One contract for every HTTP answer: the token first, then one error body for everything.

Registered as Chalice ``http`` middleware, so it wraps every route, Chalice's own answers
included (405 for a method a path lacks, 415 for a content type a route does not take, 400
for a body that is not JSON, 500 for an unhandled exception):

- on the API's routes (everything but the webhook, which has its own signature check) the
  bearer token is checked before routing goes on, so an unauthenticated caller gets 401
  whatever the method, content type or body;
- any error body Chalice wrote (``{"Code", "Message"}``) is rewritten as the API's
  ``{"error": {"code", "message"}}``, with a message that never repeats what the caller sent.

Deployed with IAM, API Gateway refuses unsigned requests before this runs, and
``settings.api_token`` is unset, so only the error shaping applies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.auth import token_problem
from chalicelib.api.errors import error_response

api_contract = Blueprint(__name__)

WEBHOOK_PATH = "/webhooks/github"
PAGES_PREFIX = "/ui/"

# Chalice's error codes -> (the API's code, a message that echoes nothing of the request)
CHALICE_ERRORS = {
    "MethodNotAllowedError": ("method_not_allowed", "this path does not take that method"),
    "UnsupportedMediaType": ("unsupported_media_type", "send application/json"),
    "BadRequestError": ("invalid_body", "the body is not valid JSON"),
    "NotFoundError": ("not_found", "no such resource"),
    "InternalServerError": ("internal_error", "an internal error occurred"),
}


@api_contract.middleware("http")
def contract(request: Any, get_response: Callable[[Any], Response]) -> Response:
    # The run pages (/ui/) sign users in with a session cookie of their own (api/pages.py).
    bearer = request.path != WEBHOOK_PATH and not request.path.startswith(PAGES_PREFIX)
    if bearer and (denied := token_problem(request)) is not None:
        return denied
    return uniform_error(get_response(request), request.path)


def uniform_error(response: Response, path: str = "") -> Response:
    """``response`` itself, or Chalice's own error rewritten in the API's error format."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or "Code" not in body:
        return response
    code, message = CHALICE_ERRORS.get(
        str(body["Code"]), ("internal_error", "an internal error occurred")
    )
    if code == "unsupported_media_type" and path == WEBHOOK_PATH:
        message = "send application/json or application/x-www-form-urlencoded"
    shaped = error_response(response.status_code, code, message)
    if "Allow" in response.headers:  # 405 says which methods the path takes
        shaped.headers["Allow"] = response.headers["Allow"]
    return shaped
