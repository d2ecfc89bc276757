"""Runs API authorization: IAM (SigV4) when deployed, a bearer token in local mode."""

from __future__ import annotations

import hmac
from typing import Any

from chalice import IAMAuthorizer, Response

from chalicelib.api.errors import error_response

BEARER = "bearer "


def route_authorizer() -> IAMAuthorizer | None:
    """API Gateway enforces IAM when deployed; local mode (``MAESTRO_API_AUTH=token``) checks
    the bearer token in the API's middleware instead."""
    from chalicelib.settings import Settings

    return None if Settings.from_env().api_auth == "token" else IAMAuthorizer()


def bearer_token_problem(expected: str | None, header: str | None) -> Response | None:
    """``None`` when the request may go on, else the 401 response.

    The header must read ``Bearer <token>`` (the scheme is case-insensitive, RFC 7235); a bare
    token is refused. The comparison is constant-time over bytes, so a header of any length
    or alphabet costs the same and never raises.
    """
    if not expected:
        return None
    header = header or ""
    if header[: len(BEARER)].lower() != BEARER:
        return _unauthorized()
    supplied = header[len(BEARER) :].strip().encode("utf-8", "surrogatepass")
    if supplied and hmac.compare_digest(supplied, expected.encode()):
        return None
    return _unauthorized()


def token_problem(request: Any) -> Response | None:
    """The 401 response for ``request`` in local mode without the right token, else ``None``."""
    from chalicelib.services import get_services

    expected = get_services().settings.api_token
    return bearer_token_problem(expected, request.headers.get("authorization"))


def _unauthorized() -> Response:
    return error_response(
        401, "unauthorized", "a valid token is required: Authorization: Bearer <token>"
    )
