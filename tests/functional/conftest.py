"""Functional tests: the Chalice handlers through ``chalice.test.Client`` on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from chalicelib.backends.recording import RecordingBackend
from chalicelib.backends.registry import BackendRegistry
from chalicelib.events.signature import sign
from chalicelib.local.loop import sqs_record
from chalicelib.services import Services, set_services
from chalicelib.settings import Settings
from chalicelib.store.schema import create_tables
from tests.gitrepo import commit_files

SECRET = "functional-test-secret"
REPO = "Codertocat/Hello-World"


@dataclass
class Controller:
    services: Services
    backend: RecordingBackend
    repo_dir: Path
    outbox: Path
    sqs: Any

    def commit(self, files: dict[str, str] | None = None) -> str:
        return commit_files(self.repo_dir, files or {"README.md": "hello\n"})

    def outbox_records(self) -> list[dict[str, Any]]:
        log = self.outbox / REPO / "outbox.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def drain_queue(self) -> list[dict[str, Any]]:
        """Receive everything queued so far, as Lambda's SQS event records."""
        records = []
        while True:
            received = self.sqs.receive_message(
                QueueUrl=self.services.settings.queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                return records
            for message in received:
                records.append(sqs_record(message))
                self.sqs.delete_message(
                    QueueUrl=self.services.settings.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                )


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "MAESTRO_API_AUTH": "token",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    parameters.clear_caches()
    with mock_aws():
        yield
    parameters.clear_caches()


@pytest.fixture
def controller(aws_env: None, tmp_path: Path) -> Iterator[Controller]:
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="maestrops-events-dlq.fifo", Attributes={"FifoQueue": "true"})
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"])
    queue_url = sqs.create_queue(
        QueueName="maestrops-events.fifo",
        Attributes={
            "FifoQueue": "true",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": "3"}
            ),
        },
    )["QueueUrl"]
    settings = Settings(
        queue_url=queue_url,
        allowed_repos=["Codertocat/*"],
        repos_dir=str(tmp_path / "repos"),
        local_data_dir=str(tmp_path / "data"),
        runner_backend="recording",
        api_token="test-token",
    )
    create_tables(boto3.client("dynamodb"), settings.table, settings.idempotency_table)
    boto3.client("secretsmanager").create_secret(
        Name=settings.webhook_secret_name, SecretString=SECRET
    )
    boto3.client("s3").create_bucket(Bucket=settings.artifacts_bucket)
    backend = RecordingBackend()
    services = Services(
        settings, backends=BackendRegistry(settings, {"recording": lambda: backend})
    )
    set_services(services)
    repo_dir = tmp_path / "repos" / REPO
    yield Controller(services, backend, repo_dir, tmp_path / "data" / "outbox", sqs)
    set_services(None)


def webhook_headers(event: str, body: bytes, delivery: str, secret: str = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(secret.encode(), body),
    }
