"""``POST /webhooks/github``: verify, dedupe, enqueue, answer."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.errors import json_response
from chalicelib.services import get_services

webhook = Blueprint(__name__)


@webhook.route("/webhooks/github", methods=["POST"], content_types=["application/json"])
def receive_github_webhook():
    request = webhook.current_request
    outcome = get_services().ingress.handle(request.headers, request.raw_body or b"")
    return json_response(outcome.status, outcome.body)
