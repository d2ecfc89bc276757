"""``maestro serve``: moto, the Chalice app on loopback, and the local event loop."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.local.aws import EmbeddedAws, bootstrap_resources
from chalicelib.local.loop import LocalEventLoop
from chalicelib.settings import Settings


@dataclass
class LocalController:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".maestro")
    backend: str = "local"
    aws: EmbeddedAws | None = None
    loop: LocalEventLoop | None = None
    webhook_secret: str = ""
    api_token: str = ""
    settings: Settings | None = None
    _http: object = None
    _http_thread: threading.Thread | None = None
    _registry: Any = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalController:
        self.data_dir = self.data_dir.resolve()
        (self.data_dir / "events").mkdir(parents=True, exist_ok=True)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's and chalice's access logs
        self.aws = EmbeddedAws.start(self.host)
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ["MAESTRO_API_AUTH"] = "token"
        warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
        self.api_token = os.environ.get("MAESTRO_API_TOKEN") or secrets.token_hex(16)
        settings = Settings.from_env().model_copy(
            update={
                "allowed_repos": Settings.from_env().allowed_repos or ["*"],
                "api_token": self.api_token,
                "local_data_dir": str(self.data_dir),
                "repos_dir": os.environ.get("MAESTRO_REPOS_DIR") or str(self.data_dir / "repos"),
                "runner_backend": os.environ.get("MAESTRO_RUNNER_BACKEND") or self.backend,
                "public_url": self.url,
            }
        )
        settings, self.webhook_secret = bootstrap_resources(
            settings, os.environ.get("MAESTRO_WEBHOOK_SECRET")
        )
        self.settings = settings
        self._start_registry()
        self._find_provider_mirror()
        self._install_services(settings)
        self._start_http()
        self.loop = LocalEventLoop(settings.queue_url, self.data_dir / "events")
        self.loop.start()
        return self

    def _start_registry(self) -> None:
        """Debian's docker-registry on loopback, where the image step pushes in local mode."""
        from chalicelib.local.registry import LocalRegistry, RegistryError

        registry = LocalRegistry(self.data_dir / "registry")
        try:
            os.environ.setdefault("MAESTRO_REGISTRY", registry.start())
            self._registry = registry
        except RegistryError as exc:
            logging.getLogger(__name__).warning("no local registry: %s", exc)

    def _find_provider_mirror(self) -> None:
        """Where the machine carries the AWS provider, runners plan the seed's own stack
        against moto; found once here, handed to the runners through the environment."""
        from runners.plugins import ENV_MIRRORS, discover_provider_mirror

        mirror = discover_provider_mirror("hashicorp/aws")
        if mirror is not None and not os.environ.get(ENV_MIRRORS):
            os.environ[ENV_MIRRORS] = str(mirror)
        os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

    def _install_services(self, settings: Settings) -> None:
        from chalicelib.services import Services, set_services

        set_services(Services(settings))

    def _start_http(self) -> None:
        from chalice.config import Config
        from chalice.local import LocalDevServer

        app = load_chalice_app()
        config = Config.create(chalice_app=app, app_name="maestrops", stage="local")
        server = LocalDevServer(
            _as_local_app(app), config, self.host, self.port, handler_cls=_quiet_handler()
        )
        self._http = server
        self._http_thread = threading.Thread(
            target=server.server.serve_forever, name="maestro-http", daemon=True
        )
        self._http_thread.start()

    def stop(self) -> None:
        if self.loop:
            self.loop.stop()
        if self._http is not None:
            self._http.server.shutdown()  # type: ignore[attr-defined]
            self._http.server.server_close()  # type: ignore[attr-defined]
        if self.aws:
            self.aws.stop()
        if self._registry is not None:
            self._registry.stop()


def _as_local_app(app):
    """What chalice.local.create_local_server does: thread-local current_request."""
    from chalice.local import CustomLocalChalice, LocalChalice

    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return app


def _quiet_handler():
    from chalice.local import ChaliceRequestHandler

    class QuietHandler(ChaliceRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Access logs stay out of the terminal; the controller logs what matters."""

    return QuietHandler


def load_chalice_app():
    """``app.py`` sits at the project root, beside chalicelib, as Chalice wants it."""
    project_root = str(Path(__file__).resolve().parents[2])
    if project_root not in sys.path:
        sys.path.insert(0, project_root)
    from app import app

    return app
