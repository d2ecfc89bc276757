"""What each page shows, read from the stores the handler passes in, filtered by ``Access``.

A run of a repository the user may not read is treated as absent everywhere: the list skips
it, its page is a 404 like an unknown id, its locks and costs are not listed. Nothing here
writes; actions go through the flows (``api/pages.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from chalicelib.feedback.publish import plan_cost
from chalicelib.locks.gate import public_lease
from chalicelib.pages.access import Access
from chalicelib.pages.chart import cost_chart
from chalicelib.pages.render import run_seconds
from chalicelib.runs.costs import cost_history
from chalicelib.runs.exceptions import RunNotFoundError
from chalicelib.runs.model import TERMINAL, Run, RunStatus
from chalicelib.runs.query import RunQuery

FILTERS = ("repo", "pipeline", "status", "branch", "pr")
PAGE_SIZE = 25
MAX_QUERIES_PER_PAGE = 8  # store queries for one page of readable runs
MAX_PLAN_BYTES = 512 * 1024  # beyond it the page says so: the plan is linked in the comment
Reader = Callable[[str], bytes | None]


def runs_query(params: Mapping[str, str]) -> RunQuery:
    """The list's filters from the query string: empty fields mean no filter; anything
    RunQuery refuses is a ValidationError the page shows."""
    values: dict[str, Any] = {k: v for k, v in params.items() if v != "" and k != "limit"}
    values["limit"] = PAGE_SIZE
    return RunQuery.model_validate(values)


def runs_page(store: Any, access: Access, query: RunQuery) -> dict[str, Any]:
    if query.repo is not None and not access.can_read(query.repo):
        runs: list[Run] = []  # looks like a repository without runs: nothing to learn
        next_cursor = None
    else:
        runs, next_cursor = readable_runs(store, access, query)
    filters = {name: getattr(query, name) for name in FILTERS}
    shown = {k: str(v) for k, v in filters.items() if v is not None}
    return {
        "runs": runs,
        "filters": {k: "" if v is None else str(v) for k, v in filters.items()},
        "next_url": f"/ui/runs?{urlencode({**shown, 'cursor': next_cursor})}"
        if next_cursor
        else None,
        "filtered": bool(shown),
    }


def readable_runs(
    store: Any, access: Access, query: RunQuery, max_queries: int = MAX_QUERIES_PER_PAGE
) -> tuple[list[Run], str | None]:
    """Up to ``query.limit`` runs the user may read, and the cursor after the last one.

    The store cannot filter by GitHub permission, so a page holding runs of repositories the
    user cannot read is followed by the next one. When a page holds more readable runs than
    are still missing, it is asked for again up to the last run shown, so the store's cursor
    points just after it: no run is skipped or shown twice. A user who can read little of a
    busy table gets a shorter page and a next link after ``max_queries`` pages rather than a
    scan of the whole table.
    """
    runs: list[Run] = []
    cursor = query.cursor
    for _ in range(max_queries):
        page = store.query(query.model_copy(update={"cursor": cursor}))
        missing = query.limit - len(runs)
        shown = [i for i, run in enumerate(page.runs) if access.can_read(run.repo)]
        if len(shown) > missing:
            upto = shown[missing - 1] + 1
            page = store.query(query.model_copy(update={"cursor": cursor, "limit": upto}))
        runs += [run for run in page.runs if access.can_read(run.repo)][:missing]
        cursor = page.next_cursor
        if cursor is None or len(runs) >= query.limit:
            break
    return runs, cursor


def readable_run(store: Any, access: Access, run_id: str) -> Run:
    run = store.get(run_id)
    if not access.can_read(run.repo):
        raise RunNotFoundError(f"run {run_id} not found")
    return run


def run_page(
    run: Run,
    access: Access,
    steps: list[dict[str, Any]],
    read: Reader,
    retryable: frozenset[RunStatus],
) -> dict[str, Any]:
    """``steps`` is ``read_logs``'s step list; durations and results come from the run."""
    reported = {str(s.get("name")): s for s in run.steps}
    rows = []
    for step in steps:
        summary = reported.get(step["name"], {})
        rows.append(
            {
                "name": step["name"],
                "status": step["status"],
                "seconds": summary.get("seconds"),
                "reason": summary.get("reason") or "",
                "complete": step["complete"],
            }
        )
    plan_text, plan_note = _plan(run, read)
    priced = any(name in run.artifacts for name in ("cost_report", "cost_block"))
    cost = plan_cost(run.artifacts, read) if priced else None
    writer = access.can_write(run.repo)
    return {
        "run": run,
        "steps": rows,
        "seconds": run_seconds(run.started_at, run.finished_at),
        "plan_summary": plan_text.splitlines()[0] if plan_text else None,
        "plan_text": plan_text,
        "plan_note": plan_note,
        "cost_block": cost.block if cost else None,
        "cost_reason": cost.reason if cost else None,
        "artifacts": sorted(run.artifacts),
        "can_retry": writer and run.status in retryable,
        "can_cancel": writer and run.status not in TERMINAL and run.status != RunStatus.UNKNOWN,
        "can_resolve": writer and run.status == RunStatus.UNKNOWN,
    }


def _plan(run: Run, read: Reader) -> tuple[str | None, str | None]:
    """The redacted plan the comment links (never the raw plan JSON)."""
    uri = run.artifacts.get("plan_redacted")
    if not uri:
        return None, None
    data = read(uri)
    if data is None:
        return None, "the redacted plan could not be read"
    if len(data) > MAX_PLAN_BYTES:
        head = data[:MAX_PLAN_BYTES].decode(errors="replace")
        return head, f"the first {MAX_PLAN_BYTES // 1024} KiB of the plan are shown"
    return data.decode(errors="replace"), None


def locks_page(gate: Any, access: Access, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    shown = []
    for lease in gate.find(None):
        lock = public_lease(lease, now)
        if not (lock["held"] or lock["expired"] or lock["waiting"]):
            continue  # a free lease stays stored for its tokens
        if not access.can_read(lock["repo"]):
            continue
        shown.append({**lock, "can_release": access.can_write(lock["repo"])})
    return {"locks": shown}


def costs_page(store: Any, access: Access, repo: str | None) -> dict[str, Any]:
    """Cost over time of one repository's plans (the repositories with runs on the first
    page of the list are offered to pick from)."""
    if repo is None:
        recent = store.query(RunQuery(limit=100)).runs
        names = sorted({run.repo for run in recent})
        offered = [name for name in names if access.can_read(name)]
        return {"repo": None, "history": None, "chart": None, "repos": offered}
    if not access.can_read(repo):
        return {"repo": repo, "history": None, "chart": None, "repos": []}
    history = cost_history(store, repo, "terraform-plan", 50)
    chart = cost_chart(history["points"])
    return {"repo": repo, "history": history, "chart": chart, "repos": []}
