"""End to end over loopback: ``maestro serve`` in a subprocess, signed webhooks in, runs out
through ``maestro runs list --json``, with duplicates and shuffled order among them."""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.cli.main import post_webhook
from chalicelib.local.aws import free_port
from chalicelib.local.payloads import pull_request_payload, push_payload
from tests.gitrepo import commit_files
from tests.integration.local.serving import MAESTRO, running_serve

SECRET = "e2e-secret"
TOKEN = "e2e-token"
REPO = "acme/infra"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, str]]:
    settings = {
        "MAESTRO_WEBHOOK_SECRET": SECRET,
        "MAESTRO_API_TOKEN": TOKEN,
        "MAESTRO_ALLOWED_REPOS": "acme/*",
        "MAESTRO_RUNNER_BACKEND": "recording",
    }
    with running_serve(tmp_path, settings, stop_timeout=20) as env:
        yield env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MAESTRO, *args], env=env, capture_output=True, text=True, timeout=60)


def list_runs(env: dict[str, str], expected: int) -> list[dict]:
    deadline = time.monotonic() + 60
    runs: list[dict] = []
    while time.monotonic() < deadline:
        done = cli(env, "runs", "list", "--json", "--limit", "100")
        assert done.returncode == 0, done.stderr
        runs = json.loads(done.stdout)
        if len(runs) >= expected:
            return runs
        time.sleep(0.3)
    return runs


def test_signed_webhooks_become_runs_visible_through_the_cli(server, tmp_path: Path) -> None:
    repo_dir = tmp_path / "repos" / REPO
    shas = [commit_files(repo_dir, {"main.tf": f"# {n}\n"}) for n in range(4)]
    deliveries = [
        ("push", push_payload(REPO, "infra_features", shas[0]), "e2e-1"),
        ("push", push_payload(REPO, "infra_features", shas[1]), "e2e-2"),
        (
            "pull_request",
            pull_request_payload(REPO, "opened", 3, "infra_features", "infra_main", shas[1]),
            "e2e-3",
        ),
        ("push", push_payload(REPO, "integration", shas[2]), "e2e-4"),
        ("push", push_payload(REPO, "feature/x", shas[3]), "e2e-5"),  # starts nothing
        (
            "pull_request",
            pull_request_payload(
                REPO, "closed", 9, "integration", "deployment", shas[2], merged=True
            ),
            "e2e-6",
        ),
    ]
    plays = deliveries + random.Random(7).sample(deliveries, 3)  # redeliveries
    random.Random(11).shuffle(plays)
    answers = [
        post_webhook(
            server["MAESTRO_API_URL"], event, json.dumps(payload).encode(), SECRET, delivery
        )
        for event, payload, delivery in plays
    ]
    assert all(status in (200, 202) for status, _ in answers)

    # One through the CLI itself, as a newcomer would.
    payload_file = tmp_path / "push.json"
    payload_file.write_text(json.dumps(push_payload(REPO, "infra_features", shas[3])))
    sent = cli(server, "send-webhook", "push", str(payload_file), "--delivery", "e2e-cli")
    assert sent.returncode == 0 and sent.stdout.startswith("202"), sent.stdout + sent.stderr

    runs = list_runs(server, expected=6)
    pipelines = sorted(run["pipeline"] for run in runs)
    assert pipelines == [
        "cd-application",
        "ci-application",
        "terraform-plan",
        "terraform-validate",
        "terraform-validate",
        "terraform-validate",
    ]
    assert all(run["status"] == "dispatched" for run in runs)
    for field in (
        "id",
        "repo",
        "pipeline",
        "status",
        "sha",
        "branch",
        "pr",
        "run_number",
        "created_at",
        "error",
    ):
        assert field in runs[0]
    numbers = sorted(run["run_number"] for run in runs if run["pipeline"] == "terraform-validate")
    assert numbers == [1, 2, 3]

    shown = cli(server, "runs", "show", runs[0]["id"], "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == runs[0]["id"]
    table = cli(server, "runs", "list", "--pipeline", "terraform-plan", "--repo", REPO)
    assert table.returncode == 0 and "terraform-plan" in table.stdout and "STATUS" in table.stdout


def test_cli_errors_exit_non_zero_with_a_message(server, tmp_path: Path) -> None:
    """Exit codes as documented in docs/api.md: 3 not found, 4 not authorized, 5 unreachable."""
    missing = cli(server, "runs", "show", "run-does-not-exist")
    assert missing.returncode == 3 and "run_not_found" in missing.stderr
    unauthorized = cli({**server, "MAESTRO_API_TOKEN": "wrong"}, "runs", "list")
    assert unauthorized.returncode == 4 and "unauthorized" in unauthorized.stderr
    payload_file = tmp_path / "push.json"
    payload_file.write_text(json.dumps(push_payload(REPO, "infra_features", "a" * 40)))
    forged = cli(server, "send-webhook", "push", str(payload_file), "--secret", "forged")
    assert forged.returncode == 4 and forged.stdout.startswith("401")
    unreachable = cli(
        {**server, "MAESTRO_API_URL": f"http://127.0.0.1:{free_port()}"}, "runs", "list"
    )
    assert unreachable.returncode == 5 and "cannot reach" in unreachable.stderr
