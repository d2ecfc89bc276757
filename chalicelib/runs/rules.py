"""Rules about a run that several use cases ask: is it cost-blocked; what an unknown apply means."""

from __future__ import annotations

from chalicelib.runs.model import Run


def approval_mark(plan: Run) -> str:
    """What an approval names: the plan run, its sha and the verdict it lifts."""
    return f"{plan.id} {plan.sha} {plan.cost.get('verdict', 'none')}"


def cost_blocked(plan: Run, newest_plan_id: str | None = None) -> bool:
    """A plan whose cost the policy blocks and that no valid approval lifts.

    An approval lifts only the plan it names (run, sha, ``block`` verdict), and only while
    that plan is the PR's newest (``newest_plan_id``): a new plan of the PR voids it.
    """
    if plan.cost.get("verdict") != "block":
        return False
    approved = bool(plan.approved_by) and plan.approved_for == approval_mark(plan)
    return not (approved and newest_plan_id in (None, plan.id))


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
