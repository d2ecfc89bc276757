"""Cost history from the runs that recorded an estimate. Pure over the store's query."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.runs.model import Run, RunStatus
from chalicelib.runs.query import RunQuery

MAX_POINTS = 100


def cost_point(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "pr": run.pr,
        "sha": run.sha,
        "created_at": run.created_at,
        "estimator": run.cost.get("estimator"),
        "currency": run.cost.get("currency"),
        "total_monthly_cost": run.cost["total_monthly_cost"],
        "diff_total_monthly_cost": run.cost.get("diff_total_monthly_cost"),
    }


def trend(points: list[dict[str, Any]]) -> dict[str, str | None]:
    """Oldest and newest totals of the window, and the change between them."""
    if not points:
        return {"first": None, "last": None, "change": None}
    first, last = points[-1]["total_monthly_cost"], points[0]["total_monthly_cost"]
    return {"first": first, "last": last, "change": str(Decimal(last) - Decimal(first))}


def cost_history(store: Any, repo: str, pipeline: str, limit: int) -> dict[str, Any]:
    if not 1 <= limit <= MAX_POINTS:
        raise ValueError(f"limit must be between 1 and {MAX_POINTS}")
    points: list[dict[str, Any]] = []
    cursor = None
    while len(points) < limit:
        page = store.query(
            RunQuery(
                repo=repo,
                pipeline=pipeline,
                status=RunStatus.SUCCEEDED.value,
                limit=100,
                cursor=cursor,
            )
        )
        points += [cost_point(run) for run in page.runs if run.cost.get("total_monthly_cost")]
        cursor = page.next_cursor
        if cursor is None:
            break
    points = points[:limit]
    return {"repo": repo, "points": points, "trend": trend(points)}
