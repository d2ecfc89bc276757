"""GitHub's limits on content-creating requests, which the write budget keeps MaestrOps under.

GitHub allows about 80 content-creating requests a minute and 500 an hour, and at most 1,000
statuses per sha and context. The budget itself is persisted per PR (``chalicelib/store/
budget.py``, sliding windows, so it holds across Lambda invocations) and applied to every
write by ``chalicelib/githost/budgeted.py``.
"""

from __future__ import annotations

CONTENT_PER_MINUTE = 80
CONTENT_PER_HOUR = 500
STATUSES_PER_SHA_CONTEXT = 1_000
