"""``maestro locks list|release ID``: the locks API from the terminal."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from chalicelib.cli.client import RunsApiClient


class LocksApiClient(RunsApiClient):
    def list_locks(self, repo: str | None = None, include_free: bool = False) -> dict[str, Any]:
        params = {"repo": repo, "all": "true" if include_free else None}
        query = urlencode({k: v for k, v in params.items() if v})
        return self._send("GET", "/locks" + (f"?{query}" if query else ""))

    def release_lock(self, lock_id: str) -> dict[str, Any]:
        return self._send("DELETE", f"/locks/{quote(lock_id, safe='')}")


def add_locks_parser(commands: Any, client: Callable[[], RunsApiClient]) -> None:
    """Register ``maestro locks`` on the CLI's subcommands; ``client`` builds the API client."""
    locks = commands.add_parser("locks", help="workspace locks held by PR plans")
    actions = locks.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="held, expired and contended locks")
    listing.add_argument("--repo")
    listing.add_argument("--all", action="store_true", help="also locks that are free")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(command=lambda args: cmd_locks_list(args, _locks_client(client())))
    release = actions.add_parser("release", help="release a lock; the next waiting plan runs")
    release.add_argument("lock_id", metavar="ID")
    release.add_argument("--json", action="store_true")
    release.set_defaults(command=lambda args: cmd_locks_release(args, _locks_client(client())))


def cmd_locks_list(args: argparse.Namespace, client: LocksApiClient) -> int:
    locks = client.list_locks(args.repo, args.all)["locks"]
    print(json.dumps(locks, indent=2) if args.json else locks_table(locks))
    return 0


def cmd_locks_release(args: argparse.Namespace, client: LocksApiClient) -> int:
    body = client.release_lock(args.lock_id)
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    lock = body["lock"]
    print(f"released {lock['repo']} {lock['directory']} (workspace {lock['workspace']})")
    if lock["held"]:
        print(f"now held by PR #{lock['holder_pr']} (run {lock['holder_run_id']})")
    return 0


def locks_table(locks: list[dict[str, Any]]) -> str:
    """One line per lock: who holds it, until when, and who waits."""
    if not locks:
        return "no locks"
    rows = [("ID", "REPO", "DIR", "WORKSPACE", "HOLDER", "EXPIRES", "WAITING")]
    for lock in locks:
        holder = (
            f"PR #{lock['holder_pr']}" if lock["held"] else "expired" if lock["expired"] else "-"
        )
        waiting = ",".join(f"#{w['pr']}" for w in lock["waiting"]) or "-"
        rows.append(
            (lock["id"], lock["repo"], lock["directory"], lock["workspace"], holder,
             lock["expires_at"] or "-", waiting)
        )  # fmt: skip
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _locks_client(client: RunsApiClient) -> LocksApiClient:
    if isinstance(client, LocksApiClient):
        return client
    return LocksApiClient(client._base, client._token, client._timeout)
