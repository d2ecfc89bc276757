"""Errors of the plans package."""

from __future__ import annotations


class PlanParseError(ValueError):
    """The bytes are not the JSON of ``terraform show -json <planfile>``."""
