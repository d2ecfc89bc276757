"""The composition root: settings, store, Git host, queue and backends, built once, lazily.

Handlers call ``get_services()``; tests build their own ``Services`` with fakes and install
it with ``set_services``. Only what a handler touches gets built, so the webhook's cold start
never pays for the dispatcher's clients.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.settings import Settings


class Services:
    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        if settings is None:
            from chalicelib.settings import Settings

            settings = Settings.from_env()
        self.settings = settings
        for name, value in overrides.items():
            setattr(self, name, value)  # shadows the cached_property of the same name

    @cached_property
    def ingress(self):
        from chalicelib.flows.ingress import WebhookIngress

        return WebhookIngress(self.settings, self.webhook_secret, self.queue, self.persistence)

    @cached_property
    def persistence(self):
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(table_name=self.settings.idempotency_table)

    @cached_property
    def queue(self):
        from chalicelib.queue.sqs import SqsQueue

        return SqsQueue(self.settings.queue_url)

    def webhook_secret(self) -> bytes:
        from aws_lambda_powertools.utilities import parameters

        secret = parameters.get_secret(
            self.settings.webhook_secret_name, max_age=self.settings.secret_max_age_seconds
        )
        return secret.encode() if isinstance(secret, str) else bytes(secret)

    @cached_property
    def store(self):
        from chalicelib.store.runs import DynamoRunStore

        return DynamoRunStore(self.settings.table)

    @cached_property
    def githost(self):
        from chalicelib.githost.budgeted import budget_enabled, with_budget

        if self.settings.repos_dir:
            from chalicelib.githost.local import LocalGitHost

            data_dir = self.settings.local_data_dir or "."
            host = LocalGitHost(self.settings.repos_dir, str(Path(data_dir) / "outbox"))
        else:
            from chalicelib.githost.github import github_from_env

            host = github_from_env()
        # MAESTRO_WRITE_BUDGET=on|off; on for GitHub, off for local mode unless asked.
        return with_budget(host, self.settings) if budget_enabled(self.settings) else host

    @cached_property
    def backends(self):
        from chalicelib.backends.registry import BackendRegistry

        return BackendRegistry(self.settings)

    @cached_property
    def dispatcher(self):
        from chalicelib.flows.commands import CommentCommands
        from chalicelib.flows.dispatch import Dispatcher

        dispatcher = Dispatcher(
            self.settings, self.store, self.githost, self.backends, locks=self.locks
        )
        dispatcher.comment_handler = CommentCommands(self.store, self.githost, dispatcher).handle
        return dispatcher

    @cached_property
    def locks(self):
        from chalicelib.locks.gate import LockGate
        from chalicelib.store.locks import DynamoLockStore

        def pr_status(repo: str, pr: int) -> str:  # the Git host is built only when asked
            return self.githost.pull_request_status(repo, pr)

        return LockGate(DynamoLockStore(self.settings.table), self.store, pr_status=pr_status)

    @cached_property
    def runner_events(self):
        from chalicelib.flows.runner_events import RunnerEventHandler

        return RunnerEventHandler(self.settings, self.store, self.githost, self.dispatcher)


_services: Services | None = None


def get_services() -> Services:
    global _services
    if _services is None:
        _services = Services()
    return _services


def set_services(services: Services | None) -> None:
    """Install ``services`` for the handlers (tests, local mode); ``None`` resets."""
    global _services
    _services = services
