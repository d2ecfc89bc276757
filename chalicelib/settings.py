"""Controller settings, read once from the environment (Lambda configuration or local mode)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

GITHUB_MAX_PAYLOAD_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
IDEMPOTENCY_SECONDS = 4 * 24 * 3600  # GitHub allows redelivery for 3 days; keep a day more


class Settings(BaseModel):
    table: str = "maestrops-runs"
    idempotency_table: str = "maestrops-idempotency"
    queue_url: str = ""
    artifacts_bucket: str = "maestrops-artifacts"
    webhook_secret_name: str = "maestrops/webhook-secret"
    allowed_repos: list[str] = Field(default_factory=list)  # owner/name globs; empty: none
    event_bus: str = "default"
    runner_backend: str = "local"
    max_body_bytes: int = GITHUB_MAX_PAYLOAD_BYTES
    api_token: str | None = None  # bearer token required by the runs API in local mode
    public_url: str = "http://127.0.0.1:8000"  # base of the links in statuses and comments
    local_data_dir: str | None = None  # set in local mode
    repos_dir: str | None = None  # local mode: owner/name -> $repos_dir/owner/name
    secret_max_age_seconds: int = 300
    region: str = "us-east-1"  # Lambda sets AWS_REGION
    api_auth: str = "iam"  # runs API: "iam" (API Gateway SigV4) or "token" (local mode)
    write_budget: str | None = None  # "on"/"off"; unset: on for GitHub, off in local mode
    # The `service` dimension of every metric and the logs' service: the alarms in
    # terraform/controller filter on it (POWERTOOLS_SERVICE_NAME = its var.app_name).
    service_name: str = "maestrops"
    # Runner backends
    codebuild_project: str = "maestrops-runner"
    ecs_cluster: str = "maestrops"
    ecs_task_definition: str = "maestrops-runner"
    ecs_subnets: list[str] = Field(default_factory=list)
    ecs_security_groups: list[str] = Field(default_factory=list)
    ssm_instance_ids: list[str] = Field(default_factory=list)
    # The runners' two AWS identities (docs/security.md): the start call names one per run;
    # empty leaves the project's or task definition's own role (the plan identity).
    runner_plan_role_arn: str = ""
    runner_apply_role_arn: str = ""
    # The managed stacks' S3 state backend (terraform/bootstrap's outputs); empty bucket:
    # jobs pass no -backend-config. Region empty: the controller's.
    state_bucket: str = ""
    state_lock_table: str = ""
    state_region: str = ""
    # GitHub: an App (id, installation, private key secret) or a token secret
    github_api_url: str = "https://api.github.com"
    github_status_mode: str = "status"  # "status" or "check-run"
    github_app_id: str | None = None
    github_installation_id: int | None = None
    github_private_key_secret: str | None = None
    github_token_secret: str | None = None
    # Run pages' sign-in (docs/pages.md): the GitHub App's OAuth client and the cookie key.
    github_web_url: str = "https://github.com"  # where /login/oauth/* lives (GHES: its host)
    oauth_client_id: str | None = None
    oauth_client_secret_name: str = "maestrops/oauth-client-secret"
    oauth_client_secret: str | None = None  # local mode only: the secret itself
    session_key_secret_name: str = "maestrops/session-key"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            field: env[variable]
            for field, variable in _VARIABLES.items()
            if env.get(variable) not in (None, "")
        }
        for name in _LISTS:
            if name in values:
                values[name] = _split_globs(values[name])
        return cls.model_validate(values)

    def is_repo_allowed(self, repo: str) -> bool:
        return any(repo_matches(repo, pattern) for pattern in self.allowed_repos)

    def run_url(self, run_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/ui/runs/{run_id}"


_VARIABLES = {
    "table": "MAESTRO_TABLE",
    "idempotency_table": "MAESTRO_IDEMPOTENCY_TABLE",
    "queue_url": "MAESTRO_QUEUE_URL",
    "artifacts_bucket": "MAESTRO_ARTIFACTS_BUCKET",
    "webhook_secret_name": "MAESTRO_WEBHOOK_SECRET_NAME",
    "allowed_repos": "MAESTRO_ALLOWED_REPOS",
    "event_bus": "MAESTRO_EVENT_BUS",
    "runner_backend": "MAESTRO_RUNNER_BACKEND",
    "max_body_bytes": "MAESTRO_MAX_BODY_BYTES",
    "api_token": "MAESTRO_API_TOKEN",
    "public_url": "MAESTRO_PUBLIC_URL",
    "local_data_dir": "MAESTRO_DATA_DIR",
    "repos_dir": "MAESTRO_REPOS_DIR",
    "region": "AWS_REGION",
    "api_auth": "MAESTRO_API_AUTH",
    "write_budget": "MAESTRO_WRITE_BUDGET",
    "service_name": "POWERTOOLS_SERVICE_NAME",
    "codebuild_project": "MAESTRO_CODEBUILD_PROJECT",
    "ecs_cluster": "MAESTRO_ECS_CLUSTER",
    "ecs_task_definition": "MAESTRO_ECS_TASK_DEFINITION",
    "ecs_subnets": "MAESTRO_ECS_SUBNETS",
    "ecs_security_groups": "MAESTRO_ECS_SECURITY_GROUPS",
    "ssm_instance_ids": "MAESTRO_SSM_INSTANCE_IDS",
    "runner_plan_role_arn": "MAESTRO_RUNNER_PLAN_ROLE_ARN",
    "runner_apply_role_arn": "MAESTRO_RUNNER_APPLY_ROLE_ARN",
    "state_bucket": "MAESTRO_STATE_BUCKET",
    "state_lock_table": "MAESTRO_STATE_LOCK_TABLE",
    "state_region": "MAESTRO_STATE_REGION",
    "github_api_url": "MAESTRO_GITHUB_API_URL",
    "github_status_mode": "MAESTRO_GITHUB_STATUS_MODE",
    "github_app_id": "MAESTRO_GITHUB_APP_ID",
    "github_installation_id": "MAESTRO_GITHUB_INSTALLATION_ID",
    "github_private_key_secret": "MAESTRO_GITHUB_PRIVATE_KEY_SECRET",
    "github_token_secret": "MAESTRO_GITHUB_TOKEN_SECRET",
    "github_web_url": "MAESTRO_GITHUB_WEB_URL",
    "oauth_client_id": "MAESTRO_OAUTH_CLIENT_ID",
    "oauth_client_secret_name": "MAESTRO_OAUTH_CLIENT_SECRET_NAME",
    "oauth_client_secret": "MAESTRO_OAUTH_CLIENT_SECRET",
    "session_key_secret_name": "MAESTRO_SESSION_KEY_SECRET_NAME",
}
_LISTS = ("allowed_repos", "ecs_subnets", "ecs_security_groups", "ssm_instance_ids")


def repo_matches(repo: str, pattern: str) -> bool:
    """Match ``owner/name`` against an allow-list glob, one path segment at a time.

    ``*`` alone allows every repository; otherwise a wildcard never crosses ``/``.

    >>> repo_matches("team-a/svc", "team-*/svc"), repo_matches("team-a/b/svc", "team-*/svc")
    (True, False)
    """
    if pattern == "*":
        return True
    segments, globs = repo.split("/"), pattern.split("/")
    return len(segments) == len(globs) and all(
        fnmatch.fnmatchcase(segment, glob) for segment, glob in zip(segments, globs, strict=True)
    )


def _split_globs(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]
