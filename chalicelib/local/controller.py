"""``maestro serve``: the Chalice app on loopback, the local event loop, and their state.

What must survive a restart lives on disk under the data dir (``state/``: runs, counters,
leases and idempotency records in ``maestro.db``, the event queue in ``queue.db``; the
runners' event files in ``events/``; the webhook secret and API token in ``secrets.json``),
so ``maestro serve`` stopped and started again on the same data dir carries on where it
was. moto, on loopback, stands in for the AWS services the runners and feedback still call
(S3 artifacts, Secrets Manager, SSM); it keeps nothing that must outlive the process.

``stop`` (also on SIGTERM) ends every child process: the runners (each in a process group
of its own, with its Terraform), ``docker-registry``, and the servers' threads.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.local.aws import MAX_RECEIVES, EmbeddedAws, bootstrap_resources
from chalicelib.local.loop import LocalEventLoop
from chalicelib.local.processes import children, stop_children
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.budget.ledger import BudgetLedger
    from chalicelib.locks.gate import LockStore
    from chalicelib.queue.sqlite import SqliteQueue
    from chalicelib.runs.store import RunStore
    from chalicelib.store.sqlite_db import SqliteDatabase
    from chalicelib.store.sqlite_idempotency import SqlitePersistenceLayer

QUEUE_VISIBILITY_SECONDS = 2.0  # a failed message is received again this much later


@dataclass
class LocalState:
    """local mode's durable stores, opened on ``<data_dir>/state``."""

    store: RunStore
    lock_store: LockStore
    persistence: SqlitePersistenceLayer
    queue: SqliteQueue
    main: SqliteDatabase  # runs, counters, leases, write budgets
    databases: list[SqliteDatabase | SqliteQueue]

    @classmethod
    def open(cls, data_dir: Path) -> LocalState:
        from chalicelib.queue.sqlite import SqliteQueue
        from chalicelib.store.sqlite_db import SqliteDatabase
        from chalicelib.store.sqlite_idempotency import SqlitePersistenceLayer
        from chalicelib.store.sqlite_locks import SqliteLockStore
        from chalicelib.store.sqlite_runs import SqliteRunStore

        state = data_dir / "state"
        main = SqliteDatabase(state / "maestro.db")
        deliveries = SqliteDatabase(state / "idempotency.db")
        queue = SqliteQueue(
            state / "queue.db",
            visibility_seconds=QUEUE_VISIBILITY_SECONDS,
            max_receives=MAX_RECEIVES,
        )
        return cls(
            store=SqliteRunStore(main),
            lock_store=SqliteLockStore(main),
            persistence=SqlitePersistenceLayer(deliveries),
            queue=queue,
            main=main,
            databases=[main, deliveries, queue],
        )

    def budget_ledger(self) -> BudgetLedger:
        """The write budget's ledger, in the run store's file."""
        from chalicelib.budget.ledger import BudgetLedger
        from chalicelib.store.sqlite_budget import SqliteBodyStore, SqliteBudgetTable

        return BudgetLedger(SqliteBudgetTable(self.main), SqliteBodyStore(self.main))

    def close(self) -> None:
        for database in self.databases:
            database.close()


@dataclass
class LocalController:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".maestro")
    backend: str = "local"
    aws: EmbeddedAws | None = None
    loop: LocalEventLoop | None = None
    state: LocalState | None = None
    webhook_secret: str = ""
    api_token: str = ""
    settings: Settings | None = None
    _http: object = None
    _http_thread: threading.Thread | None = None
    _registry: Any = None
    _previous_handlers: dict[int, Any] = field(default_factory=dict)
    _children_before: list[int] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, loop: bool = True) -> LocalController:
        """Start everything; ``loop=False`` leaves the event loop to ``start_loop`` (tests).

        Interrupted half-way (a signal, a port in use), it stops what it had started.
        """
        self.data_dir = self.data_dir.resolve()
        (self.data_dir / "events").mkdir(parents=True, exist_ok=True)
        self._handle_sigterm()
        self._children_before = children()
        try:
            self._start_all(loop)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_all(self, loop: bool) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's and chalice's access logs
        self.aws = EmbeddedAws.start(self.host)
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ["MAESTRO_API_AUTH"] = "token"
        warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
        self.webhook_secret, self.api_token = local_secrets(self.data_dir)
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
        self.settings = bootstrap_resources(settings, self.webhook_secret)
        self.state = LocalState.open(self.data_dir)
        self._start_registry()
        self._find_provider_mirror()
        self._install_services(self.settings, self.state)
        self._start_http()
        self.loop = LocalEventLoop(
            self.state.queue,
            self.data_dir / "events",
            housekeeping=self.state.persistence.purge_expired,
        )
        if loop:
            self.start_loop()

    def start_loop(self) -> None:
        assert self.loop is not None, "start() first"
        self.loop.start()

    def _handle_sigterm(self) -> None:
        """SIGTERM (and SIGHUP, the terminal closing) end ``maestro serve`` like Ctrl-C does:
        through ``stop``, children included."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGHUP):
            self._previous_handlers[signum] = signal.signal(signum, _exit_on_signal)

    def _start_registry(self) -> None:
        """Debian's docker-registry on loopback, where the image step pushes in local mode."""
        from chalicelib.local.image_registry import LocalRegistry, RegistryError

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

    def _install_services(self, settings: Settings, state: LocalState) -> None:
        from chalicelib.services import Services, set_services

        services = Services(
            settings,
            store=state.store,
            lock_store=state.lock_store,
            persistence=state.persistence,
            queue=state.queue,
            budget_ledger=state.budget_ledger(),  # used when MAESTRO_WRITE_BUDGET=on
        )
        set_services(services)

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
        """Stop serving, end every child process, close the state; safe to call twice."""
        ignoring = _ignore_sigterm()  # a second SIGTERM must not cut the cleanup short
        try:
            if self.loop:
                self.loop.stop()
            if self._http is not None:
                self._http.server.shutdown()  # type: ignore[attr-defined]
                self._http.server.server_close()  # type: ignore[attr-defined]
                self._http = None
            if self._registry is not None:
                self._registry.stop()
                self._registry = None
            stop_children(spare=self._children_before)
            if self.aws:
                self.aws.stop()
                self.aws = None
            if self.state is not None:
                from aws_lambda_powertools.utilities import parameters

                from chalicelib.services import set_services

                set_services(None)
                parameters.clear_caches()  # the webhook secret, read from moto
                self.state.close()
                self.state = None
        finally:
            _restore(ignoring)
            for signum, handler in self._previous_handlers.items():
                signal.signal(signum, handler)
            self._previous_handlers.clear()


def local_secrets(data_dir: Path) -> tuple[str, str]:
    """The webhook secret and API token: from the environment, else kept in the data dir.

    A restart on the same data dir keeps both, so GitHub's webhook and the scripts holding
    the token keep working. The file is readable by its owner only.
    """
    path = data_dir / "secrets.json"
    kept: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    webhook = os.environ.get("MAESTRO_WEBHOOK_SECRET") or kept.get("webhook_secret")
    token = os.environ.get("MAESTRO_API_TOKEN") or kept.get("api_token")
    webhook = webhook or secrets.token_hex(20)
    token = token or secrets.token_hex(16)
    if kept != {"webhook_secret": webhook, "api_token": token}:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"webhook_secret": webhook, "api_token": token}, out)
    return webhook, token


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _ignore_sigterm() -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _restore(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _as_local_app(app):
    """What chalice.local.create_local_server does: thread-local current_request."""
    from chalice.local import CustomLocalChalice, LocalChalice

    if isinstance(app, CustomLocalChalice):  # a second start in the same process
        return app
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return app


def _quiet_handler():
    from chalicelib.api.local_gateway import ContractRequestHandler

    class QuietHandler(ContractRequestHandler):
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
