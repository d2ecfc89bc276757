"""Log follow latency: from a line a runner's tool writes to that line in ``maestro runs logs
--follow``, against a real ``maestro serve`` in local mode with the local runner.

A pull request's plan, then its merge's apply: the apply's ``null_resource`` prints a line a
second through ``local-exec``, each carrying the moment it was written. A follower started
with the apply prints them; the latency of a line is when the follower printed it minus when
the tool wrote it (one machine, one clock). The baseline in the same run is a plain
``GET /runs/{id}`` round trip. Target: under 5 s (the runner ships every 2 s, the CLI polls
every second).
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.cli.main import post_webhook
from chalicelib.local.payloads import pull_request_payload
from tests.gitrepo import commit_files
from tests.integration.local.serving import MAESTRO, local_runner_settings, running_serve

LINES = 10
WRITTEN = re.compile(r"line-\d+-at-(\d+\.\d+)\s*$")  # the tool's line, not the echoed command
REPO = "acme/follow"
SECRET = "follow-secret"
TOKEN = "follow-token"
STACK = {
    ".gitops.yml": "pipelines:\n  ansible-monitoring:\n    enabled: false\n",
    "terraform/infra/main.tf": (
        'terraform {\n  required_providers {\n    null = { source = "hashicorp/null" }\n  }\n}\n\n'
        'resource "null_resource" "lines" {\n'
        '  provisioner "local-exec" {\n'
        f'    command = "for i in $(seq 1 {LINES}); do echo line-$i-at-$(date +%s.%N); '
        'sleep 1; done"\n'
        "  }\n}\n"
    ),
}


def get(env: dict[str, str], path: str) -> dict:
    request = urllib.request.Request(
        env["MAESTRO_API_URL"] + path, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def send(env: dict[str, str], action: str, sha: str, merged: bool = False) -> None:
    payload = pull_request_payload(
        REPO, action, 1, "infra_features", "infra_main", sha, merged=merged
    )
    body = json.dumps(payload).encode()
    status, text = post_webhook(env["MAESTRO_API_URL"], "pull_request", body, SECRET, action)
    if status >= 300:
        raise RuntimeError(f"webhook refused: {status} {text}")


def run_of(env: dict[str, str], pipeline: str, ended: bool) -> dict:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for run in get(env, f"/runs?pipeline={pipeline}")["runs"]:
            if not ended or run["status"] not in ("queued", "dispatched", "running"):
                return run
        time.sleep(0.1)
    raise TimeoutError(f"no {pipeline} run")


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="maestro-follow-"))
    settings = local_runner_settings(root, SECRET, TOKEN)
    with running_serve(root, settings) as env:
        sha = commit_files(root / "repos" / REPO, STACK, "lines")
        send(env, "opened", sha)
        if run_of(env, "terraform-plan", ended=True)["status"] != "succeeded":
            raise RuntimeError("the plan failed: see " + str(root / "serve.log"))
        send(env, "closed", sha, merged=True)
        run_id = run_of(env, "terraform-apply", ended=False)["id"]
        follower = subprocess.Popen(
            [*MAESTRO, "runs", "logs", run_id, "--step", "apply", "--follow"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        latencies: list[float] = []
        assert follower.stdout is not None
        for line in follower.stdout:
            seen = time.time()
            written = WRITTEN.search(line)
            if written:
                latencies.append(seen - float(written.group(1)))
        follower.wait(timeout=120)
        round_trips = []
        for _ in range(20):
            started = time.monotonic()
            get(env, f"/runs/{run_id}")
            round_trips.append(time.monotonic() - started)
    if len(latencies) != LINES:
        raise RuntimeError(f"followed {len(latencies)} of {LINES} lines")
    median, worst = statistics.median(latencies), max(latencies)
    baseline = statistics.median(round_trips)
    print(f"tool writes a line -> maestro runs logs --follow prints it ({LINES} lines):")
    print(f"  median {median:.2f} s, max {worst:.2f} s (target < 5 s)")
    print(f"baseline GET /runs/{{id}} round trip: median {baseline * 1000:.1f} ms")
    print(f"ratio median follow latency / baseline: {median / baseline:.0f}x")
    print(f"follower exit code: {follower.returncode} (0: the apply succeeded)")


if __name__ == "__main__":
    main()
