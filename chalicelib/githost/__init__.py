"""Git hosts: the ``GitHost`` protocol and its implementations (GitHub, local)."""

from chalicelib.githost.base import (
    CommentBehaviour,
    CommitState,
    CommitStatus,
    GitHost,
    GitHostError,
    ShaNotFoundError,
)

__all__ = [
    "CommentBehaviour",
    "CommitState",
    "CommitStatus",
    "GitHost",
    "GitHostError",
    "ShaNotFoundError",
]
