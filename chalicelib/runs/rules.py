"""Rules about a run that several use cases ask: is it cost-blocked; what an unknown apply means."""

from __future__ import annotations

from chalicelib.runs.model import Run


def cost_blocked(run: Run) -> bool:
    """A plan whose cost the policy blocks and nobody with the approver role approved yet."""
    return run.cost.get("verdict") == "block" and not run.approved_by


def unknown_apply_error(run: Run, reason: str) -> str:
    """Why an apply ended ``unknown``, and how a person settles it."""
    before = run.state_serial_before
    serials = f"state serial before the apply: {before if before is not None else 'not recorded'}"
    if run.state_serial_after is not None:
        serials += f", after: {run.state_serial_after}"
    return (
        f"the runner stopped mid-apply ({reason}); the state may have changed ({serials}). "
        f"Check it, then `maestro runs resolve {run.id} --as succeeded|failed`."
    )
