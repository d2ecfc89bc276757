"""The local loop's runner event files: a file that cannot be handled is set aside, not
retried forever in front of the others."""

from __future__ import annotations

from pathlib import Path

from chalicelib.local.loop import MAX_EVENT_ATTEMPTS, LocalEventLoop
from chalicelib.queue.sqlite import SqliteQueue


def test_an_unreadable_event_file_is_set_aside_after_its_attempts(tmp_path: Path) -> None:
    events = tmp_path / "events"
    (events / "run-1").mkdir(parents=True)
    poison = events / "run-1" / "000001.json"
    poison.write_text("{not json")
    loop = LocalEventLoop(SqliteQueue(tmp_path / "queue.db"), events)
    for _ in range(MAX_EVENT_ATTEMPTS - 1):
        assert loop.pump_runner_events() == 0
        assert poison.exists()
    loop.pump_runner_events()
    assert not poison.exists() and (events / "run-1" / "000001.failed").exists()
    assert loop.pump_runner_events() == 0
