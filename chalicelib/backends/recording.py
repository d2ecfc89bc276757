"""A backend that only records the jobs it is given: for tests, and for a dry-run controller."""

from __future__ import annotations

import os
from pathlib import Path

from chalicelib.backends.base import RunnerRef, RunnerState
from chalicelib.jobs import JobSpec
from chalicelib.settings import Settings


class RecordingBackend:
    name = "recording"

    def __init__(self, directory: str | None = None) -> None:
        self.jobs: list[JobSpec] = []
        self.cancelled: list[str] = []
        self._directory = Path(directory) if directory else None

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordingBackend:
        return cls()

    def start(self, job: JobSpec) -> RunnerRef:
        self.jobs.append(job)
        if self._directory is not None:
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = self._directory / f"{job.run_id}.json"
            # A job may carry secrets for its steps: readable by the controller's user only.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(job.model_dump_json(indent=2))
        return RunnerRef(backend=self.name, id=job.run_id)

    def status(self, ref: RunnerRef) -> RunnerState:
        return "stopped" if ref.id in self.cancelled else "pending"

    def cancel(self, ref: RunnerRef) -> None:
        self.cancelled.append(ref.id)
