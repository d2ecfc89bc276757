"""Domain errors → HTTP responses, in one place. Bodies: ``{"error": {"code", "message"}}``.

Imports stay light: this module loads with app.py on every cold start.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

JSON_HEADERS = {"Content-Type": "application/json"}


def json_response(status: int, body: Any) -> Response:
    headers: dict[str, str | list[str]] = dict(JSON_HEADERS)  # a copy: callers may add to it
    return Response(body=json.dumps(body), status_code=status, headers=headers)


def error_response(status: int, code: str, message: str) -> Response:
    return json_response(status, {"error": {"code": code, "message": message}})


def response_for(exc: Exception) -> Response:
    from pydantic import ValidationError

    from chalicelib.errors import ControllerError

    if isinstance(exc, ControllerError):
        return error_response(exc.status, exc.code, str(exc))
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return error_response(400, "invalid_parameter", f"{where}: {first['msg']}")
    raise exc
