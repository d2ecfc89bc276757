"""``maestro queue dead-letters|redrive``: local mode's dead letters, from the terminal.

A message the loop failed to handle ``max_receives`` times is moved aside so that its
repository's later events are not held behind it forever. These commands list those messages
and put them back once the cause is fixed. They open ``<data dir>/state/queue.db`` directly
(SQLite in WAL mode: safe beside a running ``maestro serve``). In AWS the queue's dead-letter
queue is SQS's own; its redrive is the console's or ``aws sqs start-message-move-task``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from chalicelib.queue.consumer import ReceivedMessage


def add_queue_parser(commands: Any) -> None:
    queue = commands.add_parser("queue", help="local mode's dead letters: list and redrive")
    actions = queue.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("dead-letters", help="messages moved aside after failing")
    listing.add_argument("--data-dir", type=Path, default=Path(".maestro"))
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(command=cmd_dead_letters)
    redrive = actions.add_parser("redrive", help="put dead letters back in their group")
    redrive.add_argument("message_ids", nargs="*", metavar="ID")
    redrive.add_argument("--all", action="store_true", help="every dead letter")
    redrive.add_argument("--data-dir", type=Path, default=Path(".maestro"))
    redrive.set_defaults(command=cmd_redrive)


def cmd_dead_letters(args: argparse.Namespace) -> int:
    letters = [describe(message) for message in _queue(args.data_dir).dead_letters()]
    if args.json:
        print(json.dumps({"dead_letters": letters}, indent=2))
        return 0
    if not letters:
        print("no dead letters")
    for letter in letters:
        print(
            f"{letter['id']}  {letter['group']}  {letter['event']}  "
            f"delivery={letter['delivery_id']}  receives={letter['receives']}"
        )
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    if not args.all and not args.message_ids:
        print("name the dead letters to redrive, or --all")
        return 2
    queue = _queue(args.data_dir)
    moved = queue.redrive(None if args.all else list(args.message_ids))
    missing = sorted(set(args.message_ids) - set(moved))
    for message_id in moved:
        print(f"redriven {message_id}")
    for message_id in missing:
        print(f"not a dead letter: {message_id}")
    return 3 if missing else 0  # the CLI's "not found"


def describe(message: ReceivedMessage) -> dict[str, Any]:
    """What a dead letter was: its event and delivery when its body is a trigger, else only
    that it is not one (the body may be what made it fail)."""
    try:
        body = json.loads(message.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    return {
        "id": message.message_id,
        "group": message.group,
        "receives": message.receives,
        "event": str(body.get("event", "unreadable body")),
        "delivery_id": str(body.get("delivery_id", "")),
    }


def _queue(data_dir: Path):
    from chalicelib.queue.sqlite import SqliteQueue

    path = data_dir / "state" / "queue.db"
    if not path.exists():
        raise SystemExit(f"no local queue at {path}: is --data-dir the one maestro serve uses?")
    return SqliteQueue(path)
