from __future__ import annotations

from chalicelib.errors import ControllerError


class RunError(ControllerError):
    """Base of the run store's errors; ``status``/``code`` are what the API answers."""

    status = 500
    code = "run_error"


class RunNotFoundError(RunError):
    status = 404
    code = "run_not_found"


class StepNotFoundError(RunNotFoundError):
    """A step the run has no log of (GET /runs/{id}/logs?step=...)."""

    code = "step_not_found"


class RunExistsError(RunError):
    status = 409
    code = "run_exists"


class TransitionConflictError(RunError):
    """A transition the state machine forbids, or one that lost a race."""

    status = 409
    code = "transition_conflict"


class InvalidCursorError(RunError):
    status = 400
    code = "invalid_cursor"


# What a person asks of a run through the API (flows/operations.py) and why it is refused.


class NotRetryableError(RunError):
    status = 409
    code = "not_retryable"


class AlreadyRetriedError(NotRetryableError):
    code = "already_retried"


class RetryLimitError(NotRetryableError):
    code = "retry_limit"


class PermanentRetryError(RunError):
    """The run's commit cannot start anything: its config is invalid or the commit is gone."""

    status = 422
    code = "permanent_error"


class GitHostUnavailableError(RunError):
    status = 503
    code = "githost_unavailable"


class InvalidOutcomeError(RunError):
    status = 400
    code = "invalid_parameter"
