"""Feeds the handlers Lambda would call: SQS messages, runner events, the reaper.

It calls the very functions app.py registers (``dispatch_events``, ``on_runner_event``,
``reap_stuck_runs``), with events shaped as AWS shapes them.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from chalicelib.observability import logger

REAP_EVERY_SECONDS = 30.0


class LocalEventLoop:
    def __init__(self, queue_url: str, events_dir: Path, poll_seconds: float = 0.05) -> None:
        import boto3

        self._sqs = boto3.client("sqs")
        self._queue_url = queue_url
        self._events_dir = events_dir
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_reap = time.monotonic()
        self.busy = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="maestro-local-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.pump_queue() + self.pump_runner_events()
                self._maybe_reap()
            except Exception:  # a local loop must outlive any one bad event
                logger.exception("local event loop error")
                worked = 0
            if not worked:
                self._stop.wait(self._poll)

    def pump_queue(self) -> int:
        from chalicelib.workers import dispatch_events

        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return 0
        result = dispatch_events({"Records": [sqs_record(m) for m in messages]}, None)
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:  # failures come back, then go to the DLQ
                self._sqs.delete_message(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return len(messages)

    def pump_runner_events(self) -> int:
        from chalicelib.workers import on_runner_event

        handled = 0
        for path in sorted(self._events_dir.glob("*/*.json")):
            envelope = json.loads(path.read_text())
            on_runner_event(_cw_event(envelope), None)
            path.rename(path.with_suffix(".done"))
            handled += 1
        return handled

    def _maybe_reap(self) -> None:
        if time.monotonic() - self._last_reap < REAP_EVERY_SECONDS:
            return
        from chalicelib.workers import flush_feedback, reap_stuck_runs, sweep_locks

        self._last_reap = time.monotonic()
        scheduled = _cw_event({"source": "aws.events", "detail-type": "Scheduled Event"})
        reap_stuck_runs(scheduled, None)
        sweep_locks(scheduled, None)
        flush_feedback(scheduled, None)


def sqs_record(message: dict[str, Any]) -> dict[str, Any]:
    """A received SQS message as Lambda's SQS event shapes its records."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:maestrops-events.fifo",
        "awsRegion": "us-east-1",
    }


def _cw_event(envelope: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": envelope.get("id", "local"),
        "detail-type": envelope.get("detail-type", ""),
        "source": envelope.get("source", ""),
        "account": "123456789012",
        "time": envelope.get("time", "1970-01-01T00:00:00Z"),
        "region": "us-east-1",
        "resources": [],
        "detail": envelope.get("detail", {}),
    }
