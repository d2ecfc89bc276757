"""The base of every error the controller answers over HTTP.

Each package keeps its own ``exceptions.py``; a class there sets ``status`` and ``code``, and
``chalicelib/api/errors.py`` turns any ``ControllerError`` into ``{"error": {code, message}}``.
"""

from __future__ import annotations


class ControllerError(Exception):
    status = 500
    code = "internal_error"
