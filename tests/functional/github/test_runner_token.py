"""Each job gets a Git token for its one repository: read, or write for ci-application's push.

The controller mints it from the GitHub App (the fake checks every request against GitHub's
OpenAPI description, the scoped body included); the dispatcher puts it on the job, which
hands it to the runner as its own variable, never inside the serialized job.
"""

from __future__ import annotations

import base64
import json

import boto3
import pytest

from chalicelib.backends.recording import RecordingBackend
from chalicelib.backends.registry import BackendRegistry
from chalicelib.events.trigger import Trigger
from chalicelib.githost.github import GitHub
from chalicelib.githost.github_auth import GitHubAuthError
from chalicelib.githost.http import GitHubHttp
from chalicelib.jobs import ENV_GIT_TOKEN, ENV_JOB, job_env
from chalicelib.services import Services
from chalicelib.settings import Settings
from chalicelib.store.schema import create_tables

from .fake_github import FakeGitHub

REPO = "acme/shop"
SHA = "0a3087a6c1d2e3f405162738495a6b7c8d9e0f1a"
CLONE_URL = f"https://github.com/{REPO}.git"


def test_app_mints_a_token_for_one_repository_with_only_what_is_asked(
    app_http: GitHubHttp, fake: FakeGitHub
) -> None:
    github = GitHub(app_http)
    read = github.runner_token(REPO, {"contents": "read"})
    write = github.runner_token(REPO, {"contents": "write"})

    assert read and write and read != write
    assert fake.token_scopes[read] == {
        "permissions": {"contents": "read"},
        "repositories": ["shop"],
    }
    assert fake.token_scopes[write]["permissions"] == {"contents": "write"}


def test_a_grant_wider_than_asked_never_reaches_a_runner(
    app_http: GitHubHttp, fake: FakeGitHub
) -> None:
    fake.grant_override = {
        "token": "ghs_wide",
        "expires_at": fake.token_expiry,
        "permissions": {"contents": "write", "administration": "write"},
        "repositories": [{"name": "shop"}],
    }
    with pytest.raises(GitHubAuthError, match="more than asked"):
        GitHub(app_http).runner_token(REPO, {"contents": "read"})
    fake.grant_override = {**fake.grant_override, "permissions": {"contents": "read"}}
    fake.grant_override["repositories"] = [{"name": "shop"}, {"name": "billing"}]
    with pytest.raises(GitHubAuthError, match="billing"):
        GitHub(app_http).runner_token(REPO, {"contents": "read"})


def test_a_personal_token_is_never_handed_to_runners(github: GitHub) -> None:
    assert github.runner_token(REPO, {"contents": "read"}) is None


@pytest.fixture
def dispatch(aws_env: None, app_http: GitHubHttp, fake: FakeGitHub):
    settings = Settings(allowed_repos=["acme/*"], runner_backend="recording")
    create_tables(boto3.client("dynamodb"), settings.table, settings.idempotency_table)
    backend = RecordingBackend()
    services = Services(
        settings,
        git_host=GitHub(app_http),
        backends=BackendRegistry(settings, {"recording": lambda: backend}),
        budgeted_githost=None,
    )
    fake.add_commit(REPO, SHA, {".gitops.yml": "forks: {plan: true}\n"})
    fake.files[(REPO, "infra_main", ".gitops.yml")] = "forks: {plan: true}\n"  # a fork's
    return services.dispatcher, backend


def _trigger(delivery: str, **fields) -> Trigger:
    return Trigger(delivery_id=delivery, repo=REPO, clone_url=CLONE_URL, sha=SHA, **fields)


PLAN = {"event": "pull_request", "action": "opened", "branch": "infra_features",
        "base_branch": "infra_main", "pr": 7}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "pipeline", "contents"),
    [
        ({"event": "push", "branch": "integration"}, "ci-application", "write"),
        ({"event": "push", "branch": "infra_features"}, "terraform-validate", "read"),
        (PLAN, "terraform-plan", "read"),
        ({**PLAN, "from_fork": True}, "terraform-plan", "read"),
    ],
)
def test_each_job_carries_a_token_scoped_to_its_pipeline(
    dispatch, fake: FakeGitHub, fields, pipeline, contents
) -> None:
    dispatcher, backend = dispatch
    # Twice: a redelivered message dispatches nothing new, so mints nothing new.
    for _ in range(2):
        runs = dispatcher.process(_trigger("d-1", **fields))
    assert [r.pipeline for r in runs] == [pipeline]
    (job,) = backend.jobs
    assert fake.token_scopes[job.git_token] == {
        "permissions": {"contents": contents},
        "repositories": ["shop"],
    }
    env = job_env(job)
    assert env[ENV_GIT_TOKEN] == job.git_token
    assert job.git_token not in base64.b64decode(env[ENV_JOB]).decode()
    assert "git_token" not in json.loads(job.model_dump_json()) and job.git_token not in repr(job)


def test_a_minting_failure_fails_the_run_visibly(dispatch, fake: FakeGitHub) -> None:
    dispatcher, backend = dispatch
    fake.grant_override = {"token": "", "expires_at": fake.token_expiry}
    (run,) = dispatcher.process(_trigger("d-2", event="push", branch="integration"))
    assert run.status == "failed" and "dispatch failed" in (run.error or "")
    assert backend.jobs == []
