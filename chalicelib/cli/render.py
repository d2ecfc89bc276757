"""Terminal rendering of runs: a plain table a person can read and grep."""

from __future__ import annotations

from typing import Any

COLUMNS = [
    ("ID", "id", 26),
    ("REPO", "repo", 28),
    ("PIPELINE", "pipeline", 19),
    ("#", "run_number", 4),
    ("STATUS", "status", 11),
    ("SHA", "sha", 8),
    ("BRANCH", "branch", 15),
    ("PR", "pr", 4),
    ("CREATED", "created_at", 24),
    ("ERROR", "error", 40),
]


def _cell(run: dict[str, Any], key: str, width: int) -> str:
    value = run.get(key)
    if value is None:
        text = "-"
    elif key == "sha":
        text = str(value)[:7]
    else:
        text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def runs_table(runs: list[dict[str, Any]]) -> str:
    header = "  ".join(title.ljust(width) for title, _, width in COLUMNS).rstrip()
    lines = [header]
    for run in runs:
        cells = [_cell(run, key, width).ljust(width) for _, key, width in COLUMNS]
        lines.append("  ".join(cells).rstrip())
    if not runs:
        lines.append("(no runs)")
    return "\n".join(lines)


def run_details(run: dict[str, Any]) -> str:
    width = max(len(key) for key in run)
    lines = []
    for key, value in run.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        lines.append(f"{key.ljust(width)}  {'-' if value is None else value}")
    return "\n".join(lines)
