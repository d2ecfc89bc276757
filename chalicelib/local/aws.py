"""An embedded moto server on loopback, and the resources the controller expects in it."""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from chalicelib.settings import Settings

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}
QUEUE_NAME = "maestrops-events.fifo"
DLQ_NAME = "maestrops-events-dlq.fifo"
MAX_RECEIVES = 3


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class EmbeddedAws:
    """moto's threaded server; ``endpoint`` is what AWS_ENDPOINT_URL must point at."""

    server: Any
    endpoint: str

    @classmethod
    def start(cls, host: str = "127.0.0.1") -> EmbeddedAws:
        # AWS managed policies (AmazonSSMManagedInstanceCore) exist in moto only when loaded;
        # the seed's stack attaches it to the hosts' role.
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        from moto.server import ThreadedMotoServer

        port = free_port(host)
        server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        server.start()
        endpoint = f"http://{host}:{port}"
        os.environ.update(DUMMY_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        return cls(server, endpoint)

    def stop(self) -> None:
        self.server.stop()


def bootstrap_resources(settings: Settings, webhook_secret: str | None) -> tuple[Settings, str]:
    """Create tables, queue and DLQ, bucket and secret; returns settings with the queue URL."""
    import boto3

    from chalicelib.store.schema import create_tables

    create_tables(boto3.client("dynamodb"), settings.table, settings.idempotency_table)
    sqs = boto3.client("sqs")
    fifo = {"FifoQueue": "true"}
    dlq_url = sqs.create_queue(QueueName=DLQ_NAME, Attributes=fifo)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    redrive = {
        "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": str(MAX_RECEIVES),
    }
    queue_url = sqs.create_queue(
        QueueName=QUEUE_NAME,
        Attributes={**fifo, "RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": "2"},
    )["QueueUrl"]
    boto3.client("s3").create_bucket(Bucket=settings.artifacts_bucket)
    secret = webhook_secret or secrets.token_hex(20)
    boto3.client("secretsmanager").create_secret(
        Name=settings.webhook_secret_name, SecretString=secret
    )
    return settings.model_copy(update={"queue_url": queue_url}), secret
