"""Burst: 1,000 signed deliveries, 10 % of them redeliveries, shuffled, through local mode.

Everything real: HTTP to the Chalice app, HMAC, the idempotency records, the FIFO queue,
the dispatcher and the run store (local mode's SQLite files under the data dir; moto still
serves the webhook secret). Target: exactly the expected runs, none lost or doubled.
Prints the webhook's deliveries per second and the runs recorded per second end to end
(first delivery sent to last run recorded), and the dispatcher's own drain rate.

Before local mode kept its state on disk (runs, queue and idempotency in moto's DynamoDB
and SQS) this recorded about 4 runs/s on 2 cores.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.cli.main import post_webhook
from chalicelib.local.aws import free_port
from chalicelib.local.payloads import push_payload
from tests.gitrepo import GIT_ENV, commit_files

DELIVERIES = 1000
DUPLICATE_SHARE = 0.10
SENDERS = 8
REPO = "acme/burst"


def count_runs(store) -> int:
    from chalicelib.runs.query import RunQuery

    total, cursor = 0, None
    while True:
        page = store.query(RunQuery(repo=REPO, limit=100, cursor=cursor))
        total += len(page.runs)
        if page.next_cursor is None:
            return total
        cursor = page.next_cursor


def pushed_commits(repo_dir: Path, count: int) -> list[str]:
    """``count`` commits on top of a first one, made by one shell loop (seconds, not minutes)."""
    commit_files(repo_dir, {"main.tf": "# burst\n"})
    script = 'for n in $(seq "$1"); do git commit -q --allow-empty -m "burst $n"; done'
    subprocess.run(["sh", "-c", script, "sh", str(count)], cwd=repo_dir, check=True, env=GIT_ENV)
    listed = subprocess.run(
        ["git", "rev-list", f"--max-count={count}", "HEAD"],
        cwd=repo_dir, capture_output=True, text=True, check=True, env=GIT_ENV,
    ).stdout.split()  # fmt: skip
    return listed[::-1]


def main() -> None:
    from chalicelib.local.controller import LocalController
    from chalicelib.observability import logger
    from chalicelib.services import get_services

    logger.setLevel("ERROR")
    data = Path(tempfile.mkdtemp(prefix="maestro-burst-"))
    shas = pushed_commits(data / "repos" / REPO, int(DELIVERIES * (1 - DUPLICATE_SHARE)))
    os.environ.update(
        MAESTRO_REPOS_DIR=str(data / "repos"),
        MAESTRO_RUNNER_BACKEND="recording",
        MAESTRO_WEBHOOK_SECRET="burst-secret",
    )
    controller = LocalController(port=free_port(), data_dir=data).start()
    unique = int(DELIVERIES * (1 - DUPLICATE_SHARE))
    # One push per commit: a validate runs once per pushed sha, so each delivery is new work.
    bodies = {
        f"burst-{n}": json.dumps(push_payload(REPO, "infra_features", sha)).encode()
        for n, sha in enumerate(shas)
    }
    plays = list(bodies)
    plays += random.Random(1).sample(plays, DELIVERIES - unique)
    random.Random(2).shuffle(plays)

    def send(delivery: str) -> int:
        return post_webhook(controller.url, "push", bodies[delivery], "burst-secret", delivery)[0]

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(SENDERS) as pool:
            statuses = list(pool.map(send, plays))
        accepted_seconds = time.perf_counter() - started
        store = get_services().store
        deadline = time.monotonic() + 900
        while count_runs(store) < unique and time.monotonic() < deadline:
            time.sleep(0.25)
        settled_seconds = time.perf_counter() - started
        time.sleep(2)  # anything doubled would show up now (not counted)
        runs = count_runs(store)
    finally:
        controller.stop()
    print(f"deliveries: {DELIVERIES} ({DELIVERIES - unique} redeliveries), {SENDERS} senders")
    print(
        f"answers: 202 x{statuses.count(202)}, 200 x{statuses.count(200)}, "
        f"other x{len(statuses) - statuses.count(202) - statuses.count(200)}"
    )
    print(f"webhook throughput: {DELIVERIES / accepted_seconds:.0f} deliveries/s")
    print(
        f"all runs recorded after {settled_seconds:.1f} s "
        f"({unique / settled_seconds:.0f} runs/s end to end, about 4 runs/s before)"
    )
    verdict = "exact" if runs == unique else "MISMATCH"
    print(f"runs: {runs}, expected {unique}: {verdict}")


if __name__ == "__main__":
    main()
