"""Plays the seed's flow in local mode, plus a hostile PR, for the canary test.

Run as ``python -m tests.integration.security.canary_flow <data_dir>`` with the canaries in
the environment (``TF_VAR_db_password`` among them). The sample repository of ``maestro
demo`` gets a stack file with a sensitive variable, a resource holding it and a sensitive
output; a second PR's Terraform reads every environment block it can reach and puts it,
base64-encoded, into ``for_each`` keys, resource values and an output.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import sys
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from chalicelib.cli.demo import (
    DEMO_REPO,
    NULL_STACK,
    FlowPlayer,
    build_sample_repository,
)
from chalicelib.local.aws import free_port
from chalicelib.local.controller import LocalController
from chalicelib.local.payloads import pull_request_payload
from tests.gitrepo import git
from tests.integration.security.test_runner_environment import HOSTILE_TF

SENSITIVE_TF = """
variable "db_password" {
  type      = string
  sensitive = true
}

resource "null_resource" "db" {
  triggers = {
    password = var.db_password
  }
}

output "db_dsn" {
  value     = "postgres://app:${var.db_password}@db:5432/orders"
  sensitive = true
}
"""
# The exfiltration of test_runner_environment, as for_each keys too (an address is not masked
# like a value): chunks of the encoded environment become resource names.
HOSTILE_KEYS_TF = """
resource "null_resource" "keys" {
  for_each = toset([for i in range(0, length(local.self_env), 64) : substr(local.self_env, i, 64)])
  triggers = { chunk = each.key }
}
"""


def prepare(repo_dir: Path) -> dict[str, str]:
    shas = build_sample_repository(repo_dir)
    git(repo_dir, "checkout", "-q", "infra_features")
    (repo_dir / NULL_STACK / "canary.tf").write_text(SENSITIVE_TF)
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-q", "-m", "infra: a database password")
    shas["infra"] = git(repo_dir, "rev-parse", "HEAD")
    git(repo_dir, "checkout", "-q", "-b", "hostile", "infra_main")
    # A stack of its own (the real one's resources would wait for the lock of PR 1).
    hostile = repo_dir / NULL_STACK / "hostile.tf"
    hostile.write_text(_hostile_stack())
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-q", "-m", "infra: nothing to see")
    shas["hostile"] = git(repo_dir, "rev-parse", "HEAD")
    git(repo_dir, "checkout", "-q", "main")
    return shas


def _hostile_stack() -> str:
    """HOSTILE_TF without its ``terraform`` block (the stack has one) plus the keyed chunks."""
    body = HOSTILE_TF[HOSTILE_TF.index("locals {") :]
    return body + HOSTILE_KEYS_TF


def main(data_dir: Path) -> None:
    repo_dir = data_dir / "repos" / DEMO_REPO
    shas = prepare(repo_dir)
    os.environ["MAESTRO_REPOS_DIR"] = str(data_dir / "repos")
    controller = LocalController(port=free_port(), data_dir=data_dir).start()
    try:
        player = FlowPlayer(controller.url, controller.webhook_secret, controller.api_token)
        player.play(shas, repo_dir)
        count = len(player.client.list_runs(limit=100)["runs"])
        # A new PR from the feature branch (the allowed edge), its head the hostile commit.
        hostile = pull_request_payload(
            DEMO_REPO, "opened", 3, "infra_features", "infra_main", shas["hostile"]
        )
        player.send("pull_request", hostile)
        player.wait_for(count + 1)
        runs = player.client.list_runs(limit=100)["runs"]
        (data_dir / "runs.json").write_text(json.dumps(runs, indent=2))
        for run in runs:  # every answer the runs API gives is scanned too
            (data_dir / f"api-{run['id']}.json").write_text(
                json.dumps(player.client.get_run(run["id"]))
            )
        _save_logs_and_pages(controller.url, controller.api_token, runs, data_dir)
    finally:
        controller.stop()


def _save_logs_and_pages(url: str, token: str, runs: list[dict[str, Any]], data_dir: Path) -> None:
    """Every step log as ``GET /runs/{id}/logs`` serves it and every page a signed-in user
    opens (runs, each run, each step's log page and its tail, locks, costs), saved into the
    data dir so the scan reads them too."""
    api = {"Authorization": f"Bearer {token}"}
    browser = _signed_in_browser(url, token)
    saved = data_dir / "served"
    saved.mkdir(exist_ok=True)

    def keep(name: str, body: bytes) -> None:
        (saved / name).write_bytes(body)

    keep("ui-runs.html", _get(browser, f"{url}/ui/runs"))
    keep("ui-locks.html", _get(browser, f"{url}/ui/locks"))
    keep("ui-costs.html", _get(browser, f"{url}/ui/costs?repo={quote(DEMO_REPO, safe='')}"))
    shown = 0
    for run in runs:
        run_id = run["id"]
        listing = json.loads(_get(None, f"{url}/runs/{run_id}/logs", api))
        keep(f"logs-{run_id}.json", json.dumps(listing).encode())
        keep(f"ui-run-{run_id}.html", _get(browser, f"{url}/ui/runs/{run_id}"))
        for step in listing["steps"]:
            name = quote(step["name"], safe="")
            text = _get(None, f"{url}/runs/{run_id}/logs?step={name}", api)
            keep(f"logs-{run_id}-{step['name']}.json", text)
            shown += len(json.loads(text)["text"])
            keep(
                f"ui-step-{run_id}-{step['name']}.html",
                _get(browser, f"{url}/ui/runs/{run_id}/steps/{name}"),
            )
            keep(
                f"ui-tail-{run_id}-{step['name']}.json",
                _get(browser, f"{url}/ui/api/runs/{run_id}/logs?step={name}"),
            )
    # A scan of empty answers would prove nothing.
    assert shown > 10_000, f"the logs served only {shown} characters"


def _signed_in_browser(url: str, token: str) -> urllib.request.OpenerDirector:
    """Local mode's sign-in with the API token, as the login form posts it."""
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    form = _get(browser, f"{url}/ui/login").decode()
    state = re.search(r'name="state" value="([^"]+)"', form)
    assert state, "the login form carries no state"
    body = urlencode({"via": "token", "token": token, "state": state.group(1)}).encode()
    request = urllib.request.Request(
        f"{url}/ui/login",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": url},
    )
    with browser.open(request, timeout=15) as response:
        assert "/ui/login" not in response.geturl(), "signing in with the token failed"
    return browser


def _get(
    browser: urllib.request.OpenerDirector | None, url: str, headers: dict[str, str] | None = None
) -> bytes:
    request = urllib.request.Request(url, headers=headers or {})
    opener = browser or urllib.request.build_opener()
    with opener.open(request, timeout=15) as response:
        assert response.status == 200, (url, response.status)
        return response.read()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
