"""Lock errors. ``status`` and ``code`` map them to HTTP responses (``api/errors.py``)."""

from __future__ import annotations

from chalicelib.runs.exceptions import RunError


class LockError(RunError):
    status = 409
    code = "lock_conflict"


class LockNotFoundError(LockError):
    status = 404
    code = "lock_not_found"


class LockContentionError(LockError):
    """Too many concurrent writers changed the lock while we tried; the caller may retry."""

    status = 409
    code = "lock_conflict"
