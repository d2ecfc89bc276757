"""``POST /webhooks/github``: verify, dedupe, enqueue, answer."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.errors import json_response
from chalicelib.services import get_services

webhook = Blueprint(__name__)

# GitHub's two payload formats for a hook: JSON, or a form whose ``payload`` field is JSON.
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded"]


@webhook.route("/webhooks/github", methods=["POST"], content_types=CONTENT_TYPES)
def receive_github_webhook() -> Response:
    request = webhook.current_request
    raw = request.raw_body or b""
    body = raw if isinstance(raw, bytes) else raw.encode()
    outcome = get_services().ingress.handle(
        request.headers, body, lambda_context=request.lambda_context
    )
    return json_response(outcome.status, outcome.body)
