"""Day two as a new user lives it: ``maestro serve`` with the local runner and real Terraform,
the project's ``terraform/examples/null-stack`` as the repository's ``terraform/infra``, and
three pull requests planned, merged and applied one after the other on one workspace."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.cli.main import post_webhook
from chalicelib.local.payloads import pull_request_payload
from tests.gitrepo import commit_files
from tests.integration.local.serving import MAESTRO, local_runner_settings, running_serve

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SECRET = "day-two-secret"
TOKEN = "day-two-token"
REPO = "acme/infra"

# The monitoring playbook is off: the chain after each apply must follow that.
GITOPS = "pipelines:\n  ansible-monitoring:\n    enabled: false\n"


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[dict[str, str]]:
    settings = local_runner_settings(tmp_path, SECRET, TOKEN)
    with running_serve(tmp_path, settings) as env:
        yield env


def _runs(env: dict[str, str]) -> list[dict]:
    done = subprocess.run(
        [*MAESTRO, "runs", "list", "--json", "--limit", "100"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _ended(env: dict[str, str], pipeline: str, pr: int, log: Path) -> dict:
    """The run of ``pipeline`` for PR ``pr`` once it has ended."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        for run in _runs(env):
            ended = run["status"] not in ("queued", "dispatched", "running")
            if run["pipeline"] == pipeline and run["pr"] == pr and ended:
                return run
        time.sleep(0.5)
    pytest.fail(f"{pipeline} of PR #{pr} did not end:\n{log.read_text()[-3000:]}")


def _send(env: dict[str, str], action: str, pr: int, sha: str, merged: bool = False) -> None:
    payload = pull_request_payload(
        REPO, action, pr, "infra_features", "infra_main", sha, merged=merged
    )
    status, _ = post_webhook(
        env["MAESTRO_API_URL"],
        "pull_request",
        json.dumps(payload).encode(),
        SECRET,
        f"pr-{pr}-{action}",
    )
    assert status in (200, 202)


def _stack_files(environment: str) -> dict[str, str]:
    stack = ROOT / "terraform" / "examples" / "null-stack"
    files = {
        f"terraform/infra/{path.relative_to(stack)}": path.read_text()
        for path in stack.rglob("*")
        if path.is_file() and ".terraform" not in path.parts
    }
    variables = files["terraform/infra/variables.tf"]
    files["terraform/infra/variables.tf"] = variables.replace(
        'default     = "local"', f'default     = "{environment}"', 1
    )
    return {**files, ".gitops.yml": GITOPS}


def test_three_pull_requests_plan_merge_and_apply_on_one_workspace(serve, tmp_path: Path):
    repo = tmp_path / "repos" / REPO
    log = tmp_path / "serve.log"
    changes = [
        _stack_files("local"),  # day one: everything is created
        _stack_files("staging"),  # day two: every host's triggers change
        {"README.md": "docs only\n"},  # day three: nothing to change
    ]
    serials = []
    for pr, files in enumerate(changes, start=1):
        sha = commit_files(repo, files, f"PR {pr}")
        _send(serve, "opened", pr, sha)
        plan = _ended(serve, "terraform-plan", pr, log)
        assert plan["status"] == "succeeded", plan
        _send(serve, "closed", pr, sha, merged=True)
        apply = _ended(serve, "terraform-apply", pr, log)
        assert apply["status"] == "succeeded", apply
        assert apply["plan_run_id"] == plan["id"]
        serials.append(apply["state_serial_before"])
    # Each apply started from the state the previous one left: one workspace, moving on.
    assert serials[0] is None  # day one: no state yet
    assert serials[1] is not None and serials[2] > serials[1]
    # ansible-monitoring is disabled in .gitops.yml: no apply chained it.
    assert not [run for run in _runs(serve) if run["pipeline"] == "ansible-monitoring"]
