"""Report a run's progress: EventBridge events, or JSON files in local mode.

Every event of a run carries a growing ``sequence`` so that the controller ignores the ones
that arrive late or twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from chalicelib.event_types import RUNNER_SOURCE
from chalicelib.jobs import DETAIL_HEARTBEAT, Callback, RunnerEvent


class EventSink(Protocol):
    def send(self, source: str, detail_type: str, detail: dict) -> None:
        """Deliver one event."""


class EventBridgeSink:
    """``events.put_events`` on the job's bus."""

    def __init__(self, bus: str, client=None) -> None:
        import boto3  # lazy: local mode never needs it

        self._bus = bus
        self._events = client or boto3.client("events")

    def send(self, source: str, detail_type: str, detail: dict) -> None:
        entry = {
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "EventBusName": self._bus,
        }
        response = self._events.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused the event: {response['Entries']}")


class DirectorySink:
    """Local mode: ``<dir>/<run_id>/<sequence:06d>.json``, written whole (temp name, rename)."""

    def __init__(self, directory: str | Path) -> None:
        self._dir = Path(directory)

    def send(self, source: str, detail_type: str, detail: dict) -> None:
        run_dir = self._dir / detail["run_id"]
        run_dir.mkdir(parents=True, exist_ok=True)
        name = f"{detail['sequence']:06d}.json"
        tmp = run_dir / f".{name}.tmp"
        body = {"source": source, "detail-type": detail_type, "detail": detail}
        tmp.write_text(json.dumps(body, indent=1))
        os.replace(tmp, run_dir / name)  # atomic: a reader sees no file or a whole one


def sink_for(callback: Callback, events_client=None) -> EventSink:
    if callback.local_dir:
        return DirectorySink(callback.local_dir)
    return EventBridgeSink(callback.event_bus, events_client)


class Reporter:
    """Numbers and sends a run's events; thread-safe because the heartbeat sends too."""

    def __init__(self, run_id: str, sink: EventSink, source: str = RUNNER_SOURCE) -> None:
        self.run_id = run_id
        self._sink = sink
        self._source = source
        self._sequence = 0
        self._lock = threading.Lock()

    def emit(self, detail_type: str, **fields) -> RunnerEvent:
        with self._lock:
            self._sequence += 1
            event = RunnerEvent(run_id=self.run_id, sequence=self._sequence, **fields)
            self._sink.send(self._source, detail_type, event.model_dump(mode="json"))
            return event


class Heartbeat:
    """Sends ``DETAIL_HEARTBEAT`` every ``interval`` seconds while a step runs.

    ``extra`` returns fields to repeat on each beat (the state serial during an apply), so
    the last beat the controller saw tells what the runner knew before it died.
    """

    def __init__(
        self,
        reporter: Reporter,
        interval: float,
        extra: Callable[[], dict] = dict,
    ) -> None:
        self._reporter = reporter
        self._interval = interval
        self._extra = extra
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if self._interval > 0:
            self._thread = threading.Thread(target=self._beat, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            # A lost heartbeat must never kill the step it reports on.
            with contextlib.suppress(Exception):
                self._reporter.emit(DETAIL_HEARTBEAT, status="running", **self._extra())
