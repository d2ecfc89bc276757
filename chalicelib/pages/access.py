"""Who may see and do what: GitHub's answer about a repository, cached briefly.

Reading a repository's runs needs read access on GitHub; retry, cancel, resolve and lock
release need write access. The levels are GitHub's repository roles; a user GitHub answers
nothing for (404: private and not theirs) has ``none``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.pages.session import Session

LEVELS = ("none", "read", "triage", "write", "maintain", "admin")
CACHE_SECONDS = 60  # GitHub's answer is reused this long: a revoked access ends within it
CACHE_ENTRIES = 10_000


def level_from_permissions(permissions: Mapping[str, Any] | None) -> str:
    """GitHub's ``permissions`` object of a repository (``GET /repos/{owner}/{repo}`` with the
    user's token) as one level."""
    if not permissions:
        return "none"
    for level, flag in (
        ("admin", "admin"),
        ("maintain", "maintain"),
        ("write", "push"),
        ("triage", "triage"),
        ("read", "pull"),
    ):
        if permissions.get(flag) is True:
            return level
    return "none"


def can_read(level: str) -> bool:
    return level in LEVELS and LEVELS.index(level) >= LEVELS.index("read")


def can_write(level: str) -> bool:
    return level in LEVELS and LEVELS.index(level) >= LEVELS.index("write")


class PermissionCache:
    """``(login, repo) -> level`` for ``CACHE_SECONDS``, the oldest dropped past its size."""

    def __init__(
        self,
        seconds: float = CACHE_SECONDS,
        entries: int = CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds, self.entries, self.clock = seconds, entries, clock
        self._items: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()

    def get(self, login: str, repo: str) -> str | None:
        found = self._items.get((login, repo))
        if found is None or found[0] <= self.clock():
            return None
        return found[1]

    def put(self, login: str, repo: str, level: str) -> None:
        self._items[(login, repo)] = (self.clock() + self.seconds, level)
        self._items.move_to_end((login, repo))
        while len(self._items) > self.entries:
            self._items.popitem(last=False)


Asker = Callable[[str, str], str]  # (user token, repo) -> level, from GitHub


class Access:
    """The permission rules for one session: asks GitHub through ``ask`` once per repository
    and cache lifetime."""

    def __init__(self, session: Session, ask: Asker, cache: PermissionCache) -> None:
        self.session, self._ask, self._cache = session, ask, cache

    def level(self, repo: str) -> str:
        if self.session.local:
            return "admin"  # the API token's holder runs the controller
        if self.session.token is None:
            return "none"
        cached = self._cache.get(self.session.login, repo)
        if cached is None:
            cached = self._ask(self.session.token, repo)
            self._cache.put(self.session.login, repo, cached)
        return cached

    def can_read(self, repo: str) -> bool:
        return can_read(self.level(repo))

    def can_write(self, repo: str) -> bool:
        return can_write(self.level(repo))
