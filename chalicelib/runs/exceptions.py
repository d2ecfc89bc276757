from __future__ import annotations

from chalicelib.errors import ControllerError


class RunError(ControllerError):
    """Base of the run store's errors; ``status``/``code`` are what the API answers."""

    status = 500
    code = "run_error"


class RunNotFoundError(RunError):
    status = 404
    code = "run_not_found"


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
