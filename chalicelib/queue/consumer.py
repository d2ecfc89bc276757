"""The receiving side of the event queue: what local mode's loop and the contract tests use.

In AWS, Lambda's SQS event source receives and deletes; locally the loop does it through a
``QueueConsumer``. ``SqsConsumer`` speaks to SQS (moto in tests); ``SqliteQueue`` in
``chalicelib.queue.sqlite`` is local mode's durable queue and implements both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    receipt: str
    body: str
    group: str
    receives: int  # this one included
    attributes: dict[str, str] = field(default_factory=dict)


class QueueConsumer(Protocol):
    def receive(self, max_messages: int = 10) -> list[ReceivedMessage]:
        """Up to ``max_messages``, in order per group; hidden until deleted or timed out."""

    def delete(self, receipt: str) -> None:
        """The message was handled: it never comes back."""

    def dead_letters(self) -> list[ReceivedMessage]:
        """Messages moved aside after too many receives (read-only view)."""


class SqsConsumer:
    """SQS FIFO queue and its dead-letter queue (``dlq_url``)."""

    def __init__(self, queue_url: str, dlq_url: str | None = None, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sqs")
        self._client = client
        self._queue_url = queue_url
        self._dlq_url = dlq_url

    def receive(self, max_messages: int = 10) -> list[ReceivedMessage]:
        return self._receive(self._queue_url, max_messages)

    def delete(self, receipt: str) -> None:
        self._client.delete_message(QueueUrl=self._queue_url, ReceiptHandle=receipt)

    def dead_letters(self) -> list[ReceivedMessage]:
        # Received with no visibility so the view leaves them where they are.
        return self._receive(self._dlq_url, 10, VisibilityTimeout=0) if self._dlq_url else []

    def _receive(self, url: str, max_messages: int, **extra: Any) -> list[ReceivedMessage]:
        response = self._client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=max_messages, AttributeNames=["All"], **extra
        )
        return [_from_sqs(message) for message in response.get("Messages", [])]


def _from_sqs(message: dict[str, Any]) -> ReceivedMessage:
    attributes = dict(message.get("Attributes", {}))
    return ReceivedMessage(
        message_id=message["MessageId"],
        receipt=message["ReceiptHandle"],
        body=message["Body"],
        group=attributes.get("MessageGroupId", ""),
        receives=int(attributes.get("ApproximateReceiveCount", "1")),
        attributes=attributes,
    )
