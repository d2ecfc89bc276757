"""Step logs live, end to end: ``maestro serve`` with the local runner and real Terraform, an
apply whose ``local-exec`` prints a line a second, read through ``GET /runs/{id}/logs`` while
it runs and through ``maestro runs logs --follow``; the commit status follows the steps."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.cli.main import post_webhook
from chalicelib.local.payloads import pull_request_payload
from tests.gitrepo import commit_files
from tests.integration.local.serving import MAESTRO, local_runner_settings, running_serve

pytestmark = pytest.mark.slow

SECRET = "live-logs-secret"
TOKEN = "live-logs-token"
REPO = "acme/infra"
TICKS = 6
STACK = {
    ".gitops.yml": "pipelines:\n  ansible-monitoring:\n    enabled: false\n",
    "terraform/infra/main.tf": (
        'terraform {\n  required_providers {\n    null = { source = "hashicorp/null" }\n  }\n}\n\n'
        'resource "null_resource" "ticks" {\n'
        '  provisioner "local-exec" {\n'
        f'    command = "for i in $(seq 1 {TICKS}); do echo tick-$i; sleep 1; done"\n'
        "  }\n}\n"
    ),
}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[dict[str, str]]:
    settings = local_runner_settings(tmp_path, SECRET, TOKEN)
    with running_serve(tmp_path, settings) as env:
        yield env


def api(env: dict[str, str], path: str, **params: str) -> tuple[int, Any]:
    query = f"?{urlencode(params)}" if params else ""
    request = urllib.request.Request(
        env["MAESTRO_API_URL"] + path + query, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def send(env: dict[str, str], action: str, sha: str, merged: bool = False) -> None:
    payload = pull_request_payload(
        REPO, action, 1, "infra_features", "infra_main", sha, merged=merged
    )
    status, _ = post_webhook(
        env["MAESTRO_API_URL"], "pull_request", json.dumps(payload).encode(), SECRET, action
    )
    assert status in (200, 202)


def run_of(env: dict[str, str], pipeline: str, log: Path, ended: bool) -> dict:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        _, page = api(env, "/runs", pipeline=pipeline)
        for run in page["runs"]:
            if not ended or run["status"] not in ("queued", "dispatched", "running"):
                return run
        time.sleep(0.2)
    pytest.fail(f"no {pipeline} run{' ended' if ended else ''}:\n{log.read_text()[-3000:]}")


def test_an_apply_log_is_read_while_it_runs_and_followed_to_the_end(serve, tmp_path: Path):
    log = tmp_path / "serve.log"
    sha = commit_files(tmp_path / "repos" / REPO, STACK, "ticks")
    send(serve, "opened", sha)
    assert run_of(serve, "terraform-plan", log, ended=True)["status"] == "succeeded"
    send(serve, "closed", sha, merged=True)
    run_id = run_of(serve, "terraform-apply", log, ended=False)["id"]
    follow = subprocess.Popen(
        [*MAESTRO, "runs", "logs", run_id, "--follow", "--interval", "0.5"],
        env=serve,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Partial: a tick is readable while the apply still runs.
    text, cursor, partial = "", None, None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status, page = api(serve, f"/runs/{run_id}/logs", step="apply", **after(cursor))
        if status == 404:  # the apply step has not started yet
            time.sleep(0.2)
            continue
        assert status == 200, page
        text, cursor = text + page["text"], page["next"]
        if partial is None and "tick-1" in text and not page["complete"]:
            partial = text
        if page["complete"]:
            break
        time.sleep(0.2)
    assert partial is not None, text
    assert f"tick-{TICKS}" not in partial and page["status"] in ("running", "succeeded")
    assert all(f"tick-{n}" in text for n in range(1, TICKS + 1))
    for _ in range(2):  # the last cursor again: nothing new, still complete
        status, again = api(serve, f"/runs/{run_id}/logs", step="apply", after=cursor)
        assert (status, again["text"], again["complete"]) == (200, "", True)
    status, bad = api(serve, f"/runs/{run_id}/logs", step="apply", after="forged")
    assert status == 400 and bad["error"]["code"] == "invalid_cursor"
    status, missing = api(serve, "/runs/run-none/logs")
    assert status == 404 and missing["error"]["code"] == "run_not_found"

    out, err = follow.communicate(timeout=120)
    assert follow.returncode == 0, err  # the apply succeeded
    assert "==> apply\n" in out and out.index("==> init\n") < out.index("==> apply\n")
    assert all(f"tick-{n}" in out for n in range(1, TICKS + 1))
    assert run_of(serve, "terraform-apply", log, ended=True)["status"] == "succeeded"
    status, listing = api(serve, f"/runs/{run_id}/logs")
    assert listing["steps"] == [
        {"name": name, "status": "succeeded", "complete": True}
        for name in ("checkout", "init", "apply", "output")
    ]

    outbox = tmp_path / "data" / "outbox" / REPO / "outbox.jsonl"
    records = [json.loads(line) for line in outbox.read_text().splitlines()]
    applied = [
        (r["state"], r["description"])
        for r in records
        if r["kind"] == "status" and r["context"] == "maestrops/terraform-apply"
    ]
    assert applied[0] == ("pending", "queued: run #1")
    assert applied[1:-1] == [
        ("pending", f"terraform-apply: running ({step})") for step in ("init", "apply", "output")
    ]
    assert applied[-1][0] == "success"


def after(cursor: str | None) -> dict[str, str]:
    return {"after": cursor} if cursor else {}
