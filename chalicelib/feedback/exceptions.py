"""Errors of the feedback package."""

from __future__ import annotations


class FeedbackError(Exception):
    """Base of the feedback package's errors."""


class CommentTooLongError(FeedbackError):
    """Text that must stay in one comment (the summary) does not fit GitHub's limit."""
