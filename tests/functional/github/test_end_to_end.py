"""Render a plan, post it in parts, set the status: every request checked by OpenAPI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.feedback.markers import RunMarker, part_thread
from chalicelib.feedback.render import CommentContext, render_plan_comments_from_json
from chalicelib.feedback.status import plan_description
from chalicelib.githost.base import CommitStatus
from chalicelib.githost.github import GitHub, github_from_settings
from chalicelib.githost.github_auth import AppAuth, TokenAuth, auth_from_settings
from chalicelib.githost.http import GitHubHttp
from chalicelib.settings import Settings

from .conftest import APP_ID, INSTALLATION_ID, Clock
from .fake_github import FakeGitHub

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "terraform-plans"
REPO = "acme/infra"
SHA = "0a3087a6c1d2e3f405162738495a6b7c8d9e0f1a"


def _context(seq: int) -> CommentContext:
    return CommentContext(
        thread="terraform-plan",
        title="Terraform plan · `infra`",
        marker=RunMarker(
            run_id=f"run-{seq}", seq=seq, commit_time=datetime(2026, 11, 26, 8, tzinfo=UTC)
        ),
        sha=SHA,
        run_url=f"https://maestrops.example.com/runs/run-{seq}",
        run_label=f"terraform-plan #{seq}",
    )


def test_split_plan_posted_in_order_and_status_set(github: GitHub, fake: FakeGitHub) -> None:
    raw = (CORPUS / "checkov/plan.tfplan.json").read_bytes()
    summary, parts = render_plan_comments_from_json(raw, _context(3), limit=12_000)
    assert len(parts) > 1

    ids = github.post_comment_parts(REPO, 9, parts, thread="terraform-plan")
    github.set_status(
        REPO,
        SHA,
        CommitStatus(
            context="maestrops/terraform-plan",
            state="success",
            description=plan_description(summary, Decimal("12.4")),
            target_url="https://maestrops.example.com/runs/run-3",
        ),
    )

    assert fake.thread_bodies(REPO, 9) == parts
    assert len(set(ids)) == len(parts)
    assert [b.split("\n")[0] for b in parts][
        1
    ] == f"<!-- maestrops:thread={part_thread('terraform-plan', 2)} -->"
    assert fake.statuses[0]["description"] == "+55 ~0 -0, +$12.40/mo"


def test_credentials_come_from_secrets_manager(
    fake: FakeGitHub, clock: Clock, app_key: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="eu-west-1")
        sm.create_secret(Name="maestrops/github-app-key", SecretString=app_key[0])
        sm.create_secret(Name="maestrops/github-token", SecretString="ghp_personal\n")

        app = auth_from_settings(
            Settings.from_env(
                {
                    "MAESTRO_GITHUB_APP_ID": APP_ID,
                    "MAESTRO_GITHUB_INSTALLATION_ID": str(INSTALLATION_ID),
                    "MAESTRO_GITHUB_PRIVATE_KEY_SECRET": "maestrops/github-app-key",
                }
            )
        )
        token = auth_from_settings(
            Settings.from_env({"MAESTRO_GITHUB_TOKEN_SECRET": "maestrops/github-token"})
        )
        assert isinstance(app, AppAuth) and isinstance(token, TokenAuth)
        app.clock = clock
        for auth in (app, token):
            http = GitHubHttp(auth=auth, base_url=fake.url, sleep=clock.sleep, clock=clock)
            GitHub(http).add_reaction(REPO, 1, "+1")

    assert fake.reactions == [(1, "+1"), (1, "+1")]
    assert json.dumps(fake.requests[-1].authorization) == '"Bearer ghp_personal"'


def test_adapter_from_environment(fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    env = {
        "MAESTRO_GITHUB_API_URL": fake.url + "/",
        "MAESTRO_GITHUB_STATUS_MODE": "check-run",
        "MAESTRO_GITHUB_TOKEN_SECRET": "maestrops/token",
    }
    with mock_aws():
        boto3.client("secretsmanager").create_secret(
            Name="maestrops/token", SecretString="ghp_personal"
        )
        github = github_from_settings(Settings.from_env(env))
        github.set_status(
            REPO, SHA, CommitStatus(context="maestrops/plan", state="success", description="ok")
        )

    assert fake.check_runs[0]["conclusion"] == "success"
    with pytest.raises(ValueError, match="check-run"):
        github_from_settings(Settings.from_env({**env, "MAESTRO_GITHUB_STATUS_MODE": "checks"}))


def test_enterprise_graphql_endpoint_sits_beside_the_rest_api() -> None:
    github = github_from_settings(
        Settings.from_env(
            {
                "MAESTRO_GITHUB_API_URL": "https://ghe.example.com/api/v3",
                "MAESTRO_GITHUB_TOKEN_SECRET": "x",
            }
        )
    )
    assert github.http.base_url == "https://ghe.example.com/api/v3"
    assert github._graphql_path == "https://ghe.example.com/api/graphql"
