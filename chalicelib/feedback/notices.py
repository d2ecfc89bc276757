"""Short comments: a plan waiting for another PR's lock, a refused comment command."""

from __future__ import annotations

from chalicelib.events.comment_parser import DEFAULT_PREFIX
from chalicelib.feedback.markers import RunMarker, thread_marker


def lock_wait_comment(
    *,
    thread: str,
    marker: RunMarker,
    directory: str,
    workspace: str,
    holder_pr: int,
    lock_id: str,
    holder_run_url: str | None = None,
    prefix: str = DEFAULT_PREFIX,
) -> str:
    """Who holds the lock on ``directory``/``workspace``, and how it gets released.

    The plan is queued, not failed: it runs by itself when the lock frees.
    """
    holder = f"PR #{holder_pr}" + (f" ([its run]({holder_run_url}))" if holder_run_url else "")
    return "\n".join(
        [
            thread_marker(thread),
            marker.render(),
            f"⏳ **Waiting for a lock.** `{directory}` (workspace `{workspace}`) is locked by "
            f"{holder}. This plan is queued and runs by itself as soon as the lock is free.",
            "",
            f"The lock is released when #{holder_pr} is merged and applied, or closed. "
            "To release it earlier (the held plan then cannot be applied):",
            "",
            f"- comment `{prefix} unlock` on #{holder_pr}, or",
            f"- run `maestro locks release {lock_id}`.",
        ]
    )


def refusal_comment(command: str, reason: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """The answer in the thread when a comment command is refused, with the reason."""
    return f"🚫 `{prefix} {command}` was not run: {reason}"
