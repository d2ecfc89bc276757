"""A backend that only records the jobs it is given: for tests, and for a dry-run controller."""

from __future__ import annotations

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
            self._directory.mkdir(parents=True, exist_ok=True)
            (self._directory / f"{job.run_id}.json").write_text(job.model_dump_json(indent=2))
        return RunnerRef(backend=self.name, id=job.run_id)

    def status(self, ref: RunnerRef) -> RunnerState:
        return "stopped" if ref.id in self.cancelled else "pending"

    def cancel(self, ref: RunnerRef) -> None:
        self.cancelled.append(ref.id)
