"""Local mode's event queue on SQLite: durable, FIFO per group, with SQS FIFO's receive rules.

What the webhook sends survives a restart of ``maestro serve``; what the loop received but
did not delete comes back after ``visibility_seconds``, like an SQS message whose Lambda
failed. The rules, as SQS FIFO applies them (the contract suite checks both):

- order per message group (the repository): a group with a message in flight yields
  nothing more until that message is deleted or its visibility times out;
- deduplication: a second send with the same deduplication id (the delivery id) within
  ``dedup_seconds`` is dropped and answers the first message's id;
- dead letters: a message received ``max_receives`` times and still not deleted is moved
  aside on its next receive (the redrive policy's ``maxReceiveCount``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from chalicelib.events.trigger import Trigger
from chalicelib.observability import logger
from chalicelib.queue.consumer import ReceivedMessage

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        grp TEXT NOT NULL,
        body TEXT NOT NULL,
        sent_at REAL NOT NULL,
        visible_at REAL NOT NULL,
        receives INTEGER NOT NULL DEFAULT 0,
        receipt TEXT,
        dead INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS messages_live ON messages (dead, seq)",
    "CREATE INDEX IF NOT EXISTS messages_hidden ON messages (dead, visible_at)",
    "CREATE INDEX IF NOT EXISTS messages_receipt ON messages (receipt)",
    """CREATE TABLE IF NOT EXISTS dedup (
        dedup_id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
)
SQS_DEDUP_SECONDS = 300.0  # SQS FIFO's deduplication interval
_NEXT = """
SELECT seq, id, grp, body, sent_at, receives FROM messages
WHERE dead = 0 AND grp NOT IN (
    SELECT grp FROM messages WHERE dead = 0 AND visible_at > :now
)
ORDER BY seq LIMIT :limit
"""


class SqliteQueue:
    """Both sides of the queue: ``send`` for the webhook, ``receive``/``delete`` for the loop."""

    def __init__(
        self,
        path: str | Path,
        visibility_seconds: float = 30.0,
        max_receives: int = 3,
        dedup_seconds: float = SQS_DEDUP_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.visibility_seconds = visibility_seconds
        self.max_receives = max_receives
        self.dedup_seconds = dedup_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30
        )
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        with self._write() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    # -- the sending side (chalicelib.queue.base.EventQueue) --------------------------------

    def send(self, trigger: Trigger) -> str:
        """Enqueue ``trigger`` in its repository's group; returns the message id."""
        return self.send_body(
            trigger.model_dump_json(exclude_defaults=True), trigger.repo, trigger.delivery_id
        )

    def send_body(self, body: str, group: str, dedup_id: str) -> str:
        now = self._clock()
        with self._write() as conn:
            conn.execute("DELETE FROM dedup WHERE expires_at <= ?", (now,))
            seen = conn.execute(
                "SELECT message_id FROM dedup WHERE dedup_id = ?", (dedup_id,)
            ).fetchone()
            if seen is not None:
                return str(seen[0])
            message_id = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO messages (id, grp, body, sent_at, visible_at) VALUES (?, ?, ?, ?, ?)",
                (message_id, group, body, now, now),
            )
            conn.execute(
                "INSERT INTO dedup (dedup_id, message_id, expires_at) VALUES (?, ?, ?)",
                (dedup_id, message_id, now + self.dedup_seconds),
            )
            return message_id

    # -- the receiving side (chalicelib.queue.consumer.QueueConsumer) -----------------------

    def receive(self, max_messages: int = 10) -> list[ReceivedMessage]:
        now = self._clock()
        received: list[ReceivedMessage] = []
        with self._write() as conn:
            rows = conn.execute(_NEXT, {"now": now, "limit": max_messages}).fetchall()
            for seq, message_id, group, body, sent_at, receives in rows:
                if receives >= self.max_receives:
                    conn.execute("UPDATE messages SET dead = 1 WHERE seq = ?", (seq,))
                    logger.warning(
                        "message moved to the dead letters",
                        extra={"message_id": message_id, "group": group, "receives": receives},
                    )
                    continue
                receipt = uuid.uuid4().hex
                conn.execute(
                    "UPDATE messages SET receives = ?, visible_at = ?, receipt = ? WHERE seq = ?",
                    (receives + 1, now + self.visibility_seconds, receipt, seq),
                )
                received.append(
                    _message(message_id, receipt, body, group, receives + 1, seq, sent_at)
                )
        return received

    def delete(self, receipt: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM messages WHERE receipt = ? AND dead = 0", (receipt,))

    def dead_letters(self) -> list[ReceivedMessage]:
        with self._write() as conn:
            rows = conn.execute(
                "SELECT seq, id, grp, body, sent_at, receives FROM messages "
                "WHERE dead = 1 ORDER BY seq"
            ).fetchall()
        return [
            _message(message_id, "", body, group, receives, seq, sent_at)
            for seq, message_id, group, body, sent_at, receives in rows
        ]

    def redrive(self, message_ids: list[str] | None = None) -> list[str]:
        """Put dead letters back in their groups, all of them or those named; returns the ids
        moved. They are received again with their receive count reset, like SQS's redrive
        from a dead-letter queue, and keep their place in their group's order."""
        now = self._clock()
        with self._write() as conn:
            rows = conn.execute("SELECT seq, id FROM messages WHERE dead = 1").fetchall()
            chosen = [(seq, mid) for seq, mid in rows if message_ids is None or mid in message_ids]
            for seq, _ in chosen:
                conn.execute(
                    "UPDATE messages SET dead = 0, receives = 0, receipt = NULL, visible_at = ? "
                    "WHERE seq = ?",
                    (now, seq),
                )
        return [mid for _, mid in chosen]

    def depth(self) -> int:
        """Messages waiting or in flight (dead letters excluded)."""
        with self._write() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM messages WHERE dead = 0").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")


def _message(
    message_id: str, receipt: str, body: str, group: str, receives: int, seq: int, sent_at: float
) -> ReceivedMessage:
    return ReceivedMessage(
        message_id=message_id,
        receipt=receipt,
        body=body,
        group=group,
        receives=receives,
        attributes={
            "MessageGroupId": group,
            "ApproximateReceiveCount": str(receives),
            "SentTimestamp": str(int(sent_at * 1000)),
            "SequenceNumber": f"{seq:020d}",
        },
    )
