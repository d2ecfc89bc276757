"""Hidden markers that make comments findable and keep results in order.

Every comment carries two HTML comments that GitHub does not render:

- ``<!-- maestrops:thread=terraform-plan -->`` names the comment thread (one per PR and
  pipeline, plus ``/part-N`` for the continuation comments of a split plan);
- ``<!-- maestrops:run=<run_id> seq=<n> commit-time=<ISO-8601> -->`` says which run wrote it,
  like Infracost's ``valid-at``. Runners finish in any order, so before overwriting a comment
  the controller compares markers and never lets an older result replace a newer one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

_THREAD_RE = re.compile(r"<!-- maestrops:thread=(?P<thread>[^\s>]+) -->")
_RUN_RE = re.compile(
    r"<!-- maestrops:run=(?P<run>[^\s>]+) seq=(?P<seq>\d+) commit-time=(?P<time>[^\s>]+) -->"
)


class RunMarker(BaseModel):
    """Which run wrote a comment: its sequence number and the time of the commit it ran on."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    seq: int
    commit_time: datetime

    def render(self) -> str:
        when = self.commit_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"<!-- maestrops:run={self.run_id} seq={self.seq} commit-time={when} -->"

    def order_key(self) -> tuple[datetime, int]:
        # A newer commit wins; on the same commit, the later run (higher seq) wins.
        return (self.commit_time, self.seq)


_URL_MARKER_RE = re.compile(r"#maestrops-seq=(?P<seq>\d+)&commit-time=(?P<time>[^&\s]+)$")


def with_url_marker(url: str, marker: RunMarker) -> str:
    """``url`` with the run's order in its fragment, for statuses (they have no hidden text).

    Browsers ignore the fragment's meaning; GitHub keeps ``target_url`` as given, so the
    next writer can read which run set the status.
    """
    when = marker.commit_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{url.split('#', 1)[0]}#maestrops-seq={marker.seq}&commit-time={when}"


def parse_url_marker(url: str | None) -> RunMarker | None:
    match = _URL_MARKER_RE.search(url or "")
    if match is None:
        return None
    try:
        when = datetime.fromisoformat(match["time"].replace("Z", "+00:00"))
    except ValueError:
        return None
    return RunMarker(run_id="", seq=int(match["seq"]), commit_time=when)


def thread_marker(thread: str) -> str:
    """``<!-- maestrops:thread=terraform-plan -->``; ``thread`` may not contain spaces."""
    if not thread or re.search(r"[\s>]", thread):
        raise ValueError(f"invalid thread name {thread!r}")
    return f"<!-- maestrops:thread={thread} -->"


def part_thread(thread: str, part: int) -> str:
    """Thread of the ``part``-th comment of a split result (part 1 is the thread itself)."""
    return thread if part == 1 else f"{thread}/part-{part}"


def parse_thread(body: str) -> str | None:
    match = _THREAD_RE.search(body)
    return match["thread"] if match else None


def parse_run_marker(body: str) -> RunMarker | None:
    """The run marker of a comment body; ``None`` when there is none or it is garbled."""
    match = _RUN_RE.search(body)
    if match is None:
        return None
    try:
        when = datetime.fromisoformat(match["time"].replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return RunMarker(run_id=match["run"], seq=int(match["seq"]), commit_time=when)


def may_overwrite_marker(old: RunMarker | None, new: RunMarker | None) -> bool:
    """Whether a result marked ``new`` may replace one marked ``old`` (see ``may_overwrite``)."""
    if old is None:
        return True
    if new is None:
        return False
    return new.order_key() >= old.order_key()


def may_overwrite(existing_body: str, new: RunMarker | None) -> bool:
    """Whether a result carrying ``new`` may replace the comment ``existing_body``.

    >>> old = RunMarker(run_id="r1", seq=4, commit_time=datetime(2026, 11, 26, tzinfo=UTC))
    >>> may_overwrite(old.render(), old.model_copy(update={"seq": 3}))
    False

    A comment without a marker (or written by someone else) may always be replaced; a result
    without a marker may only replace a comment without one. The same run may rewrite its
    own comment (pending → final).
    """
    return may_overwrite_marker(parse_run_marker(existing_body), new)
