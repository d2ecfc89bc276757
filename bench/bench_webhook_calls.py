"""AWS API calls per accepted webhook, counted at botocore's API-call boundary (moto behind).

Targets: at most 3 calls for an accepted delivery with the secret cached; exactly 1 call and
no enqueue for a duplicate delivery.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    POWERTOOLS_METRICS_DISABLED="true",
    POWERTOOLS_LOG_LEVEL="ERROR",
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import warnings

import boto3
import botocore.client
from moto import mock_aws

from chalicelib.events.signature import sign
from chalicelib.local.payloads import push_payload
from chalicelib.services import Services
from chalicelib.settings import Settings
from chalicelib.store.schema import create_tables

CALLS: Counter[str] = Counter()
_original = botocore.client.BaseClient._make_api_call


def _counting(self, operation_name, api_params):
    CALLS[f"{self.meta.service_model.service_name}.{operation_name}"] += 1
    return _original(self, operation_name, api_params)


def deliver(services: Services, delivery: str) -> int:
    body = json.dumps(push_payload("acme/infra", "infra_features", "a" * 40)).encode()
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(b"bench-secret", body),
    }
    return services.ingress.handle(headers, body).status


def main() -> None:
    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time")
    with mock_aws():
        sqs = boto3.client("sqs")
        queue = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})
        settings = Settings(queue_url=queue["QueueUrl"], allowed_repos=["acme/*"])
        create_tables(boto3.client("dynamodb"), settings.table, settings.idempotency_table)
        boto3.client("secretsmanager").create_secret(
            Name=settings.webhook_secret_name, SecretString="bench-secret"
        )
        services = Services(settings)
        botocore.client.BaseClient._make_api_call = _counting
        first = deliver(services, "warm-up")  # fetches and caches the secret
        print(f"first delivery (cold secret): HTTP {first}, calls {dict(CALLS)}")
        CALLS.clear()
        accepted = deliver(services, "accepted")
        accepted_calls = dict(CALLS)
        CALLS.clear()
        duplicate = deliver(services, "accepted")
        duplicate_calls = dict(CALLS)
        botocore.client.BaseClient._make_api_call = _original
        queued = int(
            sqs.get_queue_attributes(
                QueueUrl=queue["QueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
    print(
        f"accepted delivery:  HTTP {accepted}, {sum(accepted_calls.values())} calls "
        f"{accepted_calls} (target <= 3)"
    )
    print(
        f"duplicate delivery: HTTP {duplicate}, {sum(duplicate_calls.values())} calls "
        f"{duplicate_calls} (target exactly 1, no enqueue)"
    )
    print(f"messages queued for 3 deliveries of 2 ids: {queued} (expected 2)")


if __name__ == "__main__":
    main()
