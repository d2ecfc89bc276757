"""The webhook route in-process, against a bare Chalice route of the same app.

Zero-latency in-memory stand-ins replace DynamoDB (powertools persistence) and SQS, so the
figure is the controller's own work: signature, parsing a real ~25 KB pull_request payload,
the allow-list, idempotency bookkeeping and the enqueue. Target: at most 10x the bare route.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="ERROR")

from chalice.test import Client  # noqa: E402

from app import app  # noqa: E402
from chalicelib.events.signature import sign  # noqa: E402
from chalicelib.flows.ingress import WebhookIngress  # noqa: E402
from chalicelib.queue.base import InMemoryQueue  # noqa: E402
from chalicelib.services import Services, set_services  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from chalicelib.store.memory_idempotency import InMemoryPersistenceLayer  # noqa: E402

PAYLOAD = ROOT / "tests" / "events" / "pull_request.synchronize.json"
REQUESTS = 2000


@app.route("/bench/bare", methods=["POST"], content_types=["application/json"])
def bare_route() -> dict[str, bool]:
    return {"ok": True}


def timed(client: Client, path: str, requests: list[tuple[dict[str, str], bytes]]) -> float:
    started = time.perf_counter()
    for headers, body in requests:
        client.http.post(path, headers=headers, body=body)
    return (time.perf_counter() - started) / len(requests)


def main() -> None:
    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time")
    settings = Settings(allowed_repos=["*"], queue_url="in-memory")
    queue = InMemoryQueue()
    ingress = WebhookIngress(settings, lambda: b"bench", queue, InMemoryPersistenceLayer())
    set_services(Services(settings, ingress=ingress))
    body = PAYLOAD.read_bytes()
    signature = sign(b"bench", body)
    requests = [
        (
            {
                "Content-Type": "application/json",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": f"bench-{n}",
                "X-Hub-Signature-256": signature,
            },
            body,
        )
        for n in range(REQUESTS)
    ]
    webhook, bare = [], []
    with Client(app) as client:
        for round_number in range(5):
            chunk = requests[round_number * 400 : (round_number + 1) * 400]
            webhook.append(timed(client, "/webhooks/github", chunk))
            bare.append(timed(client, "/bench/bare", chunk))
    assert len(queue.sent) == REQUESTS, "every delivery must be queued exactly once"
    webhook_us = statistics.median(webhook) * 1e6
    bare_us = statistics.median(bare) * 1e6
    print(f"payload: {PAYLOAD.name}, {len(body):,} bytes; {REQUESTS} deliveries")
    print(f"webhook route: {webhook_us:8.0f} us/request (median of 5 rounds)")
    print(f"bare route:    {bare_us:8.0f} us/request")
    print(f"ratio: {webhook_us / bare_us:.2f}x (target <= 10x)")


if __name__ == "__main__":
    main()
