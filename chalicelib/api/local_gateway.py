"""Local mode's HTTP front: Chalice's local gateway, answering in the API's error format.

Chalice's local server plays API Gateway: a path no route matches gets API Gateway's 403
``Missing Authentication Token``, whose body repeats the caller's ``Authorization`` header
(and which fails outright on a non-ASCII header). Here an unknown path is a 404 in the
API's own ``{"error": {"code", "message"}}`` format that echoes nothing, and any other
gateway refusal keeps its status with that format. Only local mode imports this module
(``chalice.local`` is not shipped to Lambda).
"""

from __future__ import annotations

import json
from typing import Any

from chalice.local import ChaliceRequestHandler, LocalGatewayException, RouteMatcher

GATEWAY_CODES = {401: "unauthorized", 403: "forbidden"}


class ContractRequestHandler(ChaliceRequestHandler):
    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any,
                 config: Any) -> None:  # fmt: skip
        # BaseHTTPRequestHandler answers inside __init__: the matcher must exist before.
        self._routes = RouteMatcher(list(app_object.routes))
        super().__init__(request, client_address, server, app_object, config)

    def _generic_handle(self) -> None:
        try:
            self._routes.match_route(self.path)
        except ValueError:
            self._parse_payload()  # read the body off the connection, as a real answer would
            self._send_error(404, "not_found", f"no route for {self.command} on this path")
            return
        super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, CONNECT, made-up ones) goes through the app too, which
        answers 405 with the path's ``Allow`` header, as for any method a path lacks."""
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def _send_error_response(self, error: LocalGatewayException) -> None:
        code = GATEWAY_CODES.get(error.CODE, "gateway_error")
        self._send_error(error.CODE, code, "the gateway refused the request")

    def _send_error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        self._send_http_response(status, {"Content-Type": "application/json"}, body)
