"""SQS FIFO adapter: one message group per repository keeps each repository's events in order."""

from __future__ import annotations

from typing import Any

from chalicelib.events.trigger import Trigger


def build_send_message_kwargs(queue_url: str, trigger: Trigger) -> dict[str, Any]:
    return {
        "QueueUrl": queue_url,
        "MessageBody": trigger.model_dump_json(exclude_defaults=True),
        "MessageGroupId": trigger.repo,
        # SQS also drops a second send of the same delivery within its 5-minute window.
        "MessageDeduplicationId": trigger.delivery_id[:128],
    }


class SqsQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sqs")
        self._client = client
        self._queue_url = queue_url

    def send(self, trigger: Trigger) -> str:
        response = self._client.send_message(**build_send_message_kwargs(self._queue_url, trigger))
        return str(response["MessageId"])
