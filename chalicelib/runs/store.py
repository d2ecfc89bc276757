"""The run store seam: what the controller asks of wherever runs are kept.

``chalicelib.store.runs.DynamoRunStore`` implements it on DynamoDB; every state change is
a conditional write that raises ``TransitionConflictError`` rather than moving a run back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from chalicelib.runs.model import Run, RunStatus
from chalicelib.runs.query import RunPage, RunQuery


class RunStore(Protocol):
    def create(self, run: Run) -> Run: ...
    def get(self, run_id: str) -> Run: ...
    def next_run_number(self, repo: str, pipeline: str) -> int: ...
    def transition(
        self, run_id: str, target: RunStatus, *, min_sequence: int | None = None, **changes: Any
    ) -> Run: ...
    def update_fields(self, run_id: str, **changes: Any) -> Run: ...
    def query(self, query: RunQuery) -> RunPage: ...
    def runs_in_status(self, statuses: Iterable[RunStatus]) -> list[Run]: ...
    def claim(self, key: str, owner: str, *, replace: str | None = None) -> str:
        """Make run ``owner`` the one run that ``key`` (what an event means) starts.

        Returns the run that holds the claim: ``owner`` when it won or held it already, the
        first holder otherwise. With ``replace``, a claim held by that run passes to
        ``owner``. One conditional write: two deliveries racing get one winner.
        """
        ...
