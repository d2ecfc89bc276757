"""The seam between the controller and whatever executes a job."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel

from chalicelib.errors import ControllerError
from chalicelib.jobs import JobSpec

RunnerState = Literal["pending", "running", "succeeded", "failed", "stopped", "unknown"]


class DispatchError(ControllerError):
    """The backend refused or failed to start, query or cancel a job."""

    status = 502
    code = "dispatch_failed"


class RunnerRef(BaseModel):
    """What the controller keeps to find the job again (build id, task ARN, command id, pid)."""

    backend: str
    id: str


class RunnerBackend(Protocol):
    name: str

    def start(self, job: JobSpec) -> RunnerRef:
        """Start the job; returns at once, never waits for the job to finish."""

    def status(self, ref: RunnerRef) -> RunnerState:
        """The backend's own view of the job."""

    def cancel(self, ref: RunnerRef) -> None:
        """Stop the job; cancelling a finished job is not an error."""
