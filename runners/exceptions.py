"""Errors of the runner; a step raising ``StepFailedError`` stops the run."""

from __future__ import annotations


class RunnerError(Exception):
    """Base of the runner's own errors."""


class JobLoadError(RunnerError):
    """The job could not be read from a file, S3 or the environment."""


class StepFailedError(RunnerError):
    """A step failed; ``reason`` is one line the pull request can show."""

    def __init__(self, reason: str, exit_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code


class StepSkippedError(RunnerError):
    """A step cannot run here and is recorded as ``skipped`` with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
