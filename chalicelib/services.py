"""The composition root: settings, store, Git host, queue, backends and flows, built once, lazily.

Handlers call ``get_services()``; tests build their own ``Services`` with fakes and install
it with ``set_services``. Only what a handler touches gets built, so the webhook's cold start
never pays for the dispatcher's clients. Every object is complete when it is built: nothing
is wired after construction.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import (
        BasePersistenceLayer,
    )

    from chalicelib.backends.registry import BackendRegistry
    from chalicelib.budget.ledger import BudgetLedger
    from chalicelib.flows.commands import CommentCommands
    from chalicelib.flows.dispatch import Dispatcher
    from chalicelib.flows.endings import RunEndings
    from chalicelib.flows.ingress import WebhookIngress
    from chalicelib.flows.notify import Notifier
    from chalicelib.flows.reaper import Reaper
    from chalicelib.flows.runner_events import RunnerEventHandler
    from chalicelib.githost.base import GitHost
    from chalicelib.githost.budgeted import BudgetedGitHost
    from chalicelib.githost.oauth import GitHubOAuth
    from chalicelib.locks.gate import LockGate, LockStore
    from chalicelib.pages.access import PermissionCache
    from chalicelib.queue.base import EventQueue
    from chalicelib.runs.store import RunStore
    from chalicelib.settings import Settings


class Services:
    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        if settings is None:
            from chalicelib.settings import Settings

            settings = Settings.from_env()
        self.settings = settings
        from chalicelib.observability import configure

        configure(settings.service_name)  # metrics and logs carry the alarms' service name
        for name, value in overrides.items():
            setattr(self, name, value)  # shadows the cached_property of the same name

    # -- adapters ---------------------------------------------------------------------------

    @cached_property
    def dynamodb(self) -> Any:
        """One DynamoDB resource for every store of the main table."""
        import boto3

        return boto3.resource("dynamodb")

    @cached_property
    def persistence(self) -> BasePersistenceLayer:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        # Its own low-level client: a resource's client would serialize the typed items twice.
        return DynamoDBPersistenceLayer(table_name=self.settings.idempotency_table)

    @cached_property
    def queue(self) -> EventQueue:
        from chalicelib.queue.sqs import SqsQueue

        return SqsQueue(self.settings.queue_url)

    def webhook_secret(self) -> bytes:
        from aws_lambda_powertools.utilities import parameters

        secret = parameters.get_secret(
            self.settings.webhook_secret_name, max_age=self.settings.secret_max_age_seconds
        )
        return secret.encode() if isinstance(secret, str) else bytes(secret)

    def session_key(self) -> bytes:
        """The run pages' cookie key: Secrets Manager; local mode keeps one in its data dir."""
        if self.settings.local_data_dir:
            from chalicelib.pages.keys import local_session_key

            return local_session_key(self.settings.local_data_dir)
        from aws_lambda_powertools.utilities import parameters

        secret = parameters.get_secret(
            self.settings.session_key_secret_name, max_age=self.settings.secret_max_age_seconds
        )
        return secret.encode() if isinstance(secret, str) else bytes(secret)

    @cached_property
    def oauth(self) -> GitHubOAuth | None:
        """GitHub sign-in for the run pages; ``None`` without an OAuth client id."""
        settings = self.settings
        if not settings.oauth_client_id:
            return None
        from chalicelib.githost.oauth import GitHubOAuth

        def client_secret() -> str:
            if settings.oauth_client_secret:  # local mode: from the environment
                return settings.oauth_client_secret
            from aws_lambda_powertools.utilities import parameters

            value = parameters.get_secret(
                settings.oauth_client_secret_name, max_age=settings.secret_max_age_seconds
            )
            return value if isinstance(value, str) else bytes(value).decode()

        return GitHubOAuth(
            settings.oauth_client_id,
            client_secret,
            api_url=settings.github_api_url,
            web_url=settings.github_web_url,
        )

    @cached_property
    def permission_cache(self) -> PermissionCache:
        from chalicelib.pages.access import PermissionCache

        return PermissionCache()

    @cached_property
    def store(self) -> RunStore:
        from chalicelib.store.runs import DynamoRunStore

        return DynamoRunStore(self.settings.table, resource=self.dynamodb)

    @cached_property
    def git_host(self) -> GitHost:
        """The Git host itself, without the write budget."""
        if self.settings.repos_dir:
            from chalicelib.githost.local import LocalGitHost

            data_dir = self.settings.local_data_dir or "."
            return LocalGitHost(self.settings.repos_dir, str(Path(data_dir) / "outbox"))
        from chalicelib.githost.github import github_from_settings

        return github_from_settings(self.settings)

    @cached_property
    def budget_ledger(self) -> BudgetLedger:
        """The persisted write budget: the main table, large pending bodies in S3."""
        from chalicelib.budget.ledger import BudgetLedger
        from chalicelib.store.budget import DynamoBudgetTable, S3BodyStore

        table = DynamoBudgetTable(self.settings.table, resource=self.dynamodb)
        return BudgetLedger(table, S3BodyStore(self.settings.artifacts_bucket))

    @cached_property
    def budgeted_githost(self) -> BudgetedGitHost | None:
        """The Git host behind the write budget, or ``None`` when the budget is off."""
        from chalicelib.githost.budgeted import BudgetedGitHost, budget_enabled

        if not budget_enabled(self.settings):
            return None
        return BudgetedGitHost(self.git_host, self.budget_ledger)

    @cached_property
    def githost(self) -> GitHost:
        """What the flows use: budgeted when ``MAESTRO_WRITE_BUDGET`` is on (GitHub default)."""
        return self.budgeted_githost or self.git_host

    @cached_property
    def backends(self) -> BackendRegistry:
        from chalicelib.backends.registry import BackendRegistry

        return BackendRegistry(self.settings)

    def pr_status(self, repo: str, pr: int) -> str | None:
        """Open, merged or closed; ``None`` when the Git host cannot tell now."""
        from chalicelib.githost.base import GitHostError

        try:
            return self.githost.pull_request_status(repo, pr)  # built only when asked
        except GitHostError:
            return None

    @cached_property
    def lock_store(self) -> LockStore:
        from chalicelib.store.locks import DynamoLockStore

        return DynamoLockStore(self.settings.table, resource=self.dynamodb)

    @cached_property
    def locks(self) -> LockGate:
        from chalicelib.locks.gate import LockGate

        return LockGate(self.lock_store, self.store, pr_status=self.pr_status)

    # -- flows ------------------------------------------------------------------------------

    @cached_property
    def ingress(self) -> WebhookIngress:
        from chalicelib.flows.ingress import WebhookIngress

        return WebhookIngress(self.settings, self.webhook_secret, self.queue, self.persistence)

    @cached_property
    def notifier(self) -> Notifier:
        from chalicelib.flows.notify import Notifier

        return Notifier(self.githost, self.settings)

    @cached_property
    def endings(self) -> RunEndings:
        from chalicelib.flows.endings import RunEndings

        return RunEndings(self.settings, self.store, self.notifier)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        from chalicelib.flows.dispatch import Dispatcher

        return Dispatcher(
            self.settings,
            self.store,
            self.githost,
            self.notifier,
            self.endings,
            self.backends,
            locks=self.locks,
            # GitHub's adapter mints runner tokens from the App; local mode's Git host has none.
            runner_tokens=getattr(self.git_host, "runner_token", None),
        )

    @cached_property
    def commands(self) -> CommentCommands:
        from chalicelib.flows.commands import CommentCommands

        return CommentCommands(self.store, self.githost, self.notifier, self.dispatcher)

    @cached_property
    def runner_events(self) -> RunnerEventHandler:
        from chalicelib.flows.runner_events import RunnerEventHandler

        return RunnerEventHandler(
            self.settings, self.store, self.endings, self.dispatcher, notifier=self.notifier
        )

    @cached_property
    def reaper(self) -> Reaper:
        from chalicelib.flows.reaper import Reaper

        return Reaper(self.store, self.backends, self.endings)


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
