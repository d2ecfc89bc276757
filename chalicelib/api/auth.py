"""Runs API authorization: IAM (SigV4) when deployed, a bearer token in local mode."""

from __future__ import annotations

import hmac
import os

from chalice import IAMAuthorizer

from chalicelib.api.errors import error_response


def route_authorizer() -> IAMAuthorizer | None:
    """API Gateway enforces IAM when deployed; local mode (``MAESTRO_API_AUTH=token``) checks
    the bearer token in the handler instead."""
    return None if os.environ.get("MAESTRO_API_AUTH", "iam") == "token" else IAMAuthorizer()


def bearer_token_problem(expected: str | None, header: str | None):
    """``None`` when the request may go on, else the 401 response."""
    if not expected:
        return None
    supplied = (header or "").removeprefix("Bearer ").strip()
    if supplied and hmac.compare_digest(supplied.encode(), expected.encode()):
        return None
    return error_response(401, "unauthorized", "a valid bearer token is required")


def token_problem(request):
    """The 401 response for ``request`` in local mode without the right token, else ``None``."""
    from chalicelib.services import get_services

    expected = get_services().settings.api_token
    return bearer_token_problem(expected, request.headers.get("authorization"))
