"""Feeds the handlers Lambda would call: queued events, runner events, the schedules.

It calls the very functions app.py registers (``dispatch_events``, ``on_runner_event``,
``reap_stuck_runs``), with events shaped as AWS shapes them. Everything it reads is on disk
(the queue's file, the runners' event files), so what arrived while the controller was down
is handled when it comes back: a message received but not deleted returns after the queue's
visibility timeout, and a runner's event file is renamed ``.done`` only once handled.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.observability import logger
from chalicelib.queue.consumer import QueueConsumer, ReceivedMessage

REAP_EVERY_SECONDS = 30.0
# How often local runners' processes are checked: a runner that died (killed, or taken down
# by a stopped controller) ends its run within this, instead of at the reaper's timeout.
RUNNER_CHECK_SECONDS = 5.0
LOCAL_RUNNER_GONE = (
    "the local runner's process is gone without its result (killed, or stopped with maestro serve)"
)
MAX_EVENT_ATTEMPTS = 5


class LocalEventLoop:
    def __init__(
        self,
        queue: QueueConsumer,
        events_dir: Path,
        poll_seconds: float = 0.05,
        housekeeping: Callable[[], object] | None = None,
    ) -> None:
        self._queue = queue
        self._housekeeping = housekeeping  # with the schedules: what DynamoDB's TTL does in AWS
        self._events_dir = events_dir
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_reap = time.monotonic()
        self._last_runner_check = float("-inf")  # at once on start: a restart finds them
        self._event_failures: dict[Path, int] = {}

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
                self._maybe_check_runners()
                self._maybe_reap()
            except Exception:  # a local loop must outlive any one bad event
                logger.exception("local event loop error")
                worked = 0
            if not worked:
                self._stop.wait(self._poll)

    def pump_queue(self) -> int:
        from chalicelib.workers import dispatch_events

        messages = self._queue.receive(10)
        if not messages:
            return 0
        result = dispatch_events({"Records": [lambda_record(m) for m in messages]}, None)
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        for message in messages:
            if message.message_id not in failed:  # failures come back, then go aside
                self._queue.delete(message.receipt)
        return len(messages)

    def pump_runner_events(self) -> int:
        """Hand each runner event file to ``on_runner_event``, oldest sequence first.

        A file is renamed ``.done`` once handled; one that fails ``MAX_EVENT_ATTEMPTS`` times
        is renamed ``.failed`` so that it cannot stop the others.
        """
        from chalicelib.workers import on_runner_event

        handled = 0
        for path in sorted(self._events_dir.glob("*/*.json")):
            try:
                on_runner_event(_cw_event(json.loads(path.read_text())), None)
            except Exception:
                attempts = self._event_failures.get(path, 0) + 1
                self._event_failures[path] = attempts
                logger.exception("runner event %s failed (attempt %d)", path.name, attempts)
                if attempts >= MAX_EVENT_ATTEMPTS:
                    path.rename(path.with_suffix(".failed"))
                    self._event_failures.pop(path, None)
                continue
            path.rename(path.with_suffix(".done"))
            handled += 1
        return handled

    def _maybe_check_runners(self) -> None:
        if time.monotonic() - self._last_runner_check < RUNNER_CHECK_SECONDS:
            return
        self._last_runner_check = time.monotonic()
        self.end_vanished_runners()

    def end_vanished_runners(self) -> list[str]:
        """End the runs whose local runner process is gone; returns their ids.

        What such a runner wrote before it went is read first: one that finished in the
        meantime (its last event written just before it exited) ends as it reported.
        """
        from chalicelib.flows.reaper import vanished_runners
        from chalicelib.services import get_services

        services = get_services()
        gone = vanished_runners(services.store, services.backends, "local")
        if not gone:
            return []
        self.pump_runner_events()
        ended = []
        for run in gone:
            if services.runner_events.runner_gone(run.id, LOCAL_RUNNER_GONE) is not None:
                ended.append(run.id)
        return ended

    def _maybe_reap(self) -> None:
        if time.monotonic() - self._last_reap < REAP_EVERY_SECONDS:
            return
        from chalicelib.workers import flush_feedback, reap_stuck_runs, sweep_locks

        self._last_reap = time.monotonic()
        scheduled = _cw_event({"source": "aws.events", "detail-type": "Scheduled Event"})
        reap_stuck_runs(scheduled, None)
        sweep_locks(scheduled, None)
        flush_feedback(scheduled, None)
        if self._housekeeping is not None:
            self._housekeeping()


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


def lambda_record(message: ReceivedMessage) -> dict[str, Any]:
    """A message of the local queue as Lambda's SQS event shapes its records."""
    return sqs_record(
        {
            "MessageId": message.message_id,
            "ReceiptHandle": message.receipt,
            "Body": message.body,
            "Attributes": message.attributes,
        }
    )


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
