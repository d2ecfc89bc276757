"""Why the write budget could not decide; the Git host then sends the write unbudgeted."""

from __future__ import annotations


class BudgetError(Exception):
    """Base of the budget's errors; none reaches the API (the Git host absorbs them)."""


class BudgetContentionError(BudgetError):
    """The budget item kept changing under us (``MAX_ATTEMPTS`` conflicts in a row)."""


class BudgetItemFullError(BudgetError):
    """Keeping one more pending write would take the item near DynamoDB's 400 KB."""
