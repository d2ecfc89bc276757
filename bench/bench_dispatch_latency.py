"""Local dispatch latency: from a webhook's arrival to the runner process starting.

Local mode with the real local backend: the webhook is posted over loopback, the event loop
feeds the dispatcher, the backend starts ``python -m runners``. Measured per delivery: until
the job file exists (the backend is about to spawn the runner) and until the runner's own
first event (the runner process is up and reporting). Target: under 1 s.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.cli.main import post_webhook
from chalicelib.local.aws import free_port
from chalicelib.local.payloads import push_payload
from tests.gitrepo import commit_files

ROUNDS = 7
REPO = "acme/latency"


def wait_for(predicate, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.005)
    raise TimeoutError("nothing happened in time")


def new_jobs(data: Path, known: set[Path]) -> list[Path]:
    return [p for p in (data / "jobs").glob("*.json") if p not in known]


def main() -> None:
    from chalicelib.local.controller import LocalController
    from chalicelib.observability import logger

    logger.setLevel("ERROR")
    data = Path(tempfile.mkdtemp(prefix="maestro-latency-"))
    # A branch no pipeline runs Terraform for would start nothing: use a validate run whose
    # runner only has to come up (it fails fast on the empty repository, which is fine here).
    sha = commit_files(data / "repos" / REPO, {"README.md": "latency\n"})
    os.environ.update(
        MAESTRO_REPOS_DIR=str(data / "repos"),
        MAESTRO_RUNNER_BACKEND="local",
        MAESTRO_WEBHOOK_SECRET="latency",
    )
    controller = LocalController(port=free_port(), data_dir=data).start()
    to_job, to_runner = [], []
    try:
        for number in range(ROUNDS):
            before_jobs = set((data / "jobs").glob("*.json")) if (data / "jobs").exists() else set()
            body = json.dumps(push_payload(REPO, "infra_features", sha)).encode()
            started = time.monotonic()
            post_webhook(controller.url, "push", body, "latency", f"latency-{number}")

            job_seen = wait_for(lambda known=before_jobs: bool(new_jobs(data, known)))
            run_id = new_jobs(data, before_jobs)[0].stem
            events = data / "events" / run_id
            runner_seen = wait_for(lambda e=events: e.exists() and any(e.iterdir()))
            to_job.append(job_seen - started)
            to_runner.append(runner_seen - started)
            time.sleep(1.0)  # let the runner finish before the next round
    finally:
        controller.stop()
    spawn = f"median {statistics.median(to_job) * 1000:.0f} ms, max {max(to_job) * 1000:.0f} ms"
    up = f"median {statistics.median(to_runner) * 1000:.0f} ms, max {max(to_runner) * 1000:.0f} ms"
    print(f"webhook -> runner spawned (job file written): {spawn}")
    print(f"webhook -> runner's first event:             {up} (target < 1 s)")


if __name__ == "__main__":
    main()
