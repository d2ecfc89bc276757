"""``maestro runs logs RUN_ID [--step S] [--follow]``: step logs from ``GET /runs/{id}/logs``.

Without ``--follow`` it prints what is stored now and exits 0. With it, it prints each line as
the runner ships it, until the run ends, and exits with the run's outcome: 0 succeeded,
``EXIT_RUN_FAILED`` for any other ending (docs/api.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import quote, urlencode

from chalicelib.cli.client import ApiError, RunsApiClient

EXIT_RUN_FAILED = 7  # following: the run ended failed, cancelled, timed out, superseded, unknown
ENDED = frozenset({"succeeded", "failed", "cancelled", "timed_out", "superseded", "unknown"})
DEFAULT_POLL_SECONDS = 1.0


class LogsApiClient(RunsApiClient):
    def run_logs(
        self, run_id: str, step: str | None = None, after: str | None = None
    ) -> dict[str, Any]:
        params = {k: v for k, v in (("step", step), ("after", after)) if v}
        query = f"?{urlencode(params)}" if params else ""
        return self._send("GET", f"/runs/{quote(run_id, safe='')}/logs{query}")


def add_logs_parser(runs: Any, client: Callable[[], RunsApiClient]) -> None:
    """Register ``maestro runs logs``; ``client`` builds the API client."""
    logs = runs.add_parser("logs", help="a run's step logs; --follow prints them as they come")
    logs.add_argument("run_id")
    logs.add_argument("--step", help="one step (default: every step, in order)")
    logs.add_argument(
        "--follow", action="store_true", help="until the run ends; exit with its outcome"
    )
    logs.add_argument(
        "--interval", type=float, default=DEFAULT_POLL_SECONDS, help="seconds between polls"
    )
    logs.set_defaults(command=lambda args: cmd_runs_logs(args, _logs_client(client())))


def _logs_client(client: RunsApiClient) -> LogsApiClient:
    if isinstance(client, LogsApiClient):
        return client
    return LogsApiClient(client._base, client._token, client._timeout)


def cmd_runs_logs(
    args: argparse.Namespace,
    client: LogsApiClient,
    out: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    follower = LogFollower(client, args.run_id, args.step, out or sys.stdout, args.follow)
    if not args.follow:
        follower.poll()
        return 0
    while True:
        status = follower.poll()
        if status in ENDED and follower.drained:
            return outcome_code(status)
        sleep(max(args.interval, 0.1))


def outcome_code(status: str) -> int:
    """The exit code of a followed run that ended with ``status``."""
    return 0 if status == "succeeded" else EXIT_RUN_FAILED


class LogFollower:
    """Keeps a cursor per step and prints only what came after it."""

    def __init__(
        self,
        client: LogsApiClient,
        run_id: str,
        step: str | None,
        out: TextIO,
        follow: bool = False,
    ) -> None:
        self._client = client
        self._follow = follow
        self._missing: dict[str, ApiError] = {}
        self._run_id = run_id
        self._step = step
        self._out = out
        self._cursors: dict[str, str | None] = {}
        self._complete: set[str] = set()
        self._headed: set[str] = set()
        self.drained = False  # every known step's log read to its end, as of the last poll

    def poll(self) -> str:
        """Print everything new; returns the run's status as the last answer gave it."""
        if self._step is not None:
            names, status = [self._step], None
        else:
            listing = self._client.run_logs(self._run_id)
            names, status = [s["name"] for s in listing["steps"]], listing["status"]
        drained = True
        for name in names:
            step_status = self._read(name)
            status = step_status or status
            drained = drained and name in self._complete
        if status is None:  # --step before the step started: the run says how far it is
            status = str(self._client.get_run(self._run_id)["status"])
        missing = self._missing.get(self._step or "")
        if missing is not None and (not self._follow or status in ENDED):
            raise missing  # the run ended, or we are not waiting: the step will never come
        self.drained = drained
        return status

    def _read(self, step: str) -> str | None:
        """Print the step's new text, every page of it; the run's status, or ``None`` while the
        step has no log yet."""
        if step in self._complete:
            return None
        while True:
            try:
                page = self._client.run_logs(self._run_id, step, self._cursors.get(step))
            except ApiError as exc:
                if exc.code == "step_not_found":
                    self._missing[step] = exc
                    return None
                raise
            if page["text"]:
                if self._step is None and step not in self._headed:
                    self._out.write(f"==> {step}\n")
                    self._headed.add(step)
                self._out.write(page["text"])
                self._out.flush()
            self._missing.pop(step, None)
            advanced = page["next"] != self._cursors.get(step)
            self._cursors[step] = page["next"]
            if page["complete"]:
                self._complete.add(step)
                return str(page["status"])
            if not page["text"] or not advanced:
                return str(page["status"])
