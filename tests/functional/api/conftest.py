"""The Chalice app served over loopback by the same request handler ``maestro serve`` uses,
on moto in-process: what an HTTP client (a script, the CLI, schemathesis) really sees."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.functional.conftest import Controller

TOKEN = "test-token"  # the functional controller's api_token


@dataclass
class ServedApi:
    url: str
    controller: Controller


@pytest.fixture
def served_api(controller: Controller) -> Iterator[ServedApi]:
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from app import app
    from chalicelib.api.local_gateway import ContractRequestHandler

    class Quiet(ContractRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """No access log in the test output."""

    config = Config.create(chalice_app=app, app_name="maestrops", stage="local")
    server = LocalDevServer(app, config, "127.0.0.1", 0, handler_cls=Quiet)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ServedApi(f"http://127.0.0.1:{server.server.server_address[1]}", controller)
    finally:
        server.server.shutdown()
        server.server.server_close()
