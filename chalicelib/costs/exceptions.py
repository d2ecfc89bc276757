"""Errors of the cost package. The API layer maps them to HTTP statuses in one place."""

from __future__ import annotations

from chalicelib.errors import ControllerError


class CostError(ControllerError):
    """Base of every cost error."""

    status = 422
    code = "cost_error"


class InfracostFormatError(CostError):
    """The document is not Infracost JSON that MaestrOps can read."""


class UnsupportedInfracostVersionError(InfracostFormatError):
    """The Infracost JSON has a ``version`` other than ``"0.2"`` (Infracost CLI v0.10)."""

    def __init__(self, version: object) -> None:
        self.version = version
        super().__init__(
            f"Infracost JSON version {version!r} is not supported: MaestrOps reads the output of "
            'the Infracost CLI v0.10 (`version: "0.2"`). Infracost 2.0 changed the format and '
            "removed `diff` and `comment`; pin the runner to Infracost v0.10 or let the built-in "
            "estimator price the plan."
        )


class PlanFormatError(CostError):
    """The Terraform plan JSON lacks what the built-in estimator needs."""


class CatalogError(CostError):
    """The price catalog is missing, malformed or lacks a region."""
