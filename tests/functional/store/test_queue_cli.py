"""``maestro queue dead-letters|redrive`` on local mode's SQLite queue: a message moved aside
after failing is listed, put back in its group's order, handled, and the commands say what
they did for names that are not dead letters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.cli.main import main
from chalicelib.events.trigger import Trigger
from chalicelib.queue.sqlite import SqliteQueue


def trigger(delivery: str) -> Trigger:
    return Trigger(delivery_id=delivery, event="push", repo="acme/infra", sha="a" * 40)


def fail_until_dead(queue: SqliteQueue, delivery: str) -> None:
    for _ in range(queue.max_receives):
        [message] = queue.receive(1)
        assert Trigger.model_validate_json(message.body).delivery_id == delivery
    assert all(
        Trigger.model_validate_json(m.body).delivery_id != delivery for m in queue.receive(1)
    )


def dead_letters(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    assert main(["queue", "dead-letters", "--data-dir", str(data_dir), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["dead_letters"]


def test_dead_letters_are_listed_redriven_in_order_and_handled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = SqliteQueue(tmp_path / "state" / "queue.db", visibility_seconds=0)
    for round_ in range(2):  # the same queue, failing and redriven twice
        queue.send(trigger(f"poison-{round_}"))
        fail_until_dead(queue, f"poison-{round_}")
        [letter] = dead_letters(tmp_path, capsys)
        assert letter["event"] == "push" and letter["delivery_id"] == f"poison-{round_}"
        assert letter["group"] == "acme/infra" and letter["receives"] == queue.max_receives

        queue.send(trigger(f"next-{round_}"))
        argv = ["queue", "redrive", letter["id"], "--data-dir", str(tmp_path)]
        assert main(argv) == 0
        assert capsys.readouterr().out == f"redriven {letter['id']}\n"
        assert dead_letters(tmp_path, capsys) == []
        # Back at its place: before the group's later message, with a fresh receive count.
        batch = queue.receive(10)
        assert [Trigger.model_validate_json(m.body).delivery_id for m in batch] == [
            f"poison-{round_}",
            f"next-{round_}",
        ]
        assert [m.receives for m in batch] == [1, 1]
        for message in batch:
            queue.delete(message.receipt)


def test_redrive_names_what_it_did_not_find_and_needs_a_choice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = SqliteQueue(tmp_path / "state" / "queue.db", visibility_seconds=0)
    queue.send(trigger("poison"))
    fail_until_dead(queue, "poison")
    assert main(["queue", "redrive", "--data-dir", str(tmp_path)]) == 2
    argv = ["queue", "redrive", "no-such-id", "--data-dir", str(tmp_path)]
    assert main(argv) == 3
    assert "not a dead letter: no-such-id" in capsys.readouterr().out
    assert len(dead_letters(tmp_path, capsys)) == 1
    assert main(["queue", "redrive", "--all", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("redriven ")
    assert dead_letters(tmp_path, capsys) == []


def test_a_body_that_is_not_a_trigger_is_listed_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = SqliteQueue(tmp_path / "state" / "queue.db", visibility_seconds=0)
    queue.send_body("\x00not json", "acme/infra", "d-broken")
    for _ in range(queue.max_receives + 1):
        queue.receive(1)
    [letter] = dead_letters(tmp_path, capsys)
    assert letter["event"] == "unreadable body" and letter["delivery_id"] == ""


def test_no_queue_at_the_data_dir_is_said(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no local queue"):
        main(["queue", "dead-letters", "--data-dir", str(tmp_path)])
