"""HTML from Jinja2 templates with autoescaping on: repository content (branch names, commit
messages, step names, plan text) is hostile and only ever reaches the page escaped.

The Content-Security-Policy allows our own script and style only: the pages carry no inline
script or style, and the one script is a static asset.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE = Path(__file__).parent
STATIC = HERE / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self' {github}; frame-ancestors 'none'; "
    "base-uri 'none'"
)
NOTHING = "\u2013"  # an en dash: no value
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,  # a missing value is a bug, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = duration
    env.filters["short"] = lambda sha: (sha or "")[:12]
    env.filters["when"] = when
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def security_headers(github_web_url: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY.format(github=github_web_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def static_asset(name: str) -> tuple[bytes, str] | None:
    """One of the shipped assets by its file name; nothing else (no paths, no dotfiles)."""
    kind = STATIC_TYPES.get(Path(name).suffix)
    allowed = {p.name for p in STATIC.iterdir() if p.is_file()}
    if kind is None or name not in allowed:
        return None
    return (STATIC / name).read_bytes(), kind


def duration(seconds: Any) -> str:
    try:
        total = int(float(seconds))
    except (TypeError, ValueError):
        return NOTHING
    minutes, secs = divmod(max(total, 0), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def when(iso: str | None) -> str:
    if not iso:
        return NOTHING
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return NOTHING
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def run_seconds(started: str | None, finished: str | None) -> float | None:
    try:
        start = datetime.fromisoformat((started or "").replace("Z", "+00:00"))
        end = datetime.fromisoformat((finished or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return (end - start).total_seconds()
