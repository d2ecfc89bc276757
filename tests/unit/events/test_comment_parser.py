from __future__ import annotations

import pytest

from chalicelib.events.comment_parser import Command, help_text, parse_command


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("maestro plan", Command(name="plan")),
        (
            "maestro plan -d infra -w staging",
            Command(name="plan", directory="infra", workspace="staging"),
        ),
        (
            "\n\n  maestro apply --dir infra/prod\r\nplease",
            Command(name="apply", directory="infra/prod"),
        ),
        ("maestro unlock", Command(name="unlock")),
        ("maestro help", Command(name="help")),
        ("maestro", Command(name="help")),
        (
            "maestro approve-cost planned growth",
            Command(name="approve-cost", reason="planned growth"),
        ),
        ('maestro plan -d "my dir"', Command(name="plan", directory="my dir")),
    ],
)
def test_commands(body: str, expected: Command) -> None:
    assert parse_command(body) == expected


@pytest.mark.parametrize(
    "body",
    ["lgtm", "please run maestro plan", "> maestro plan", "maestroplan", "", "atlantis plan"],
)
def test_comments_not_addressed_to_maestrops(body: str) -> None:
    assert parse_command(body) is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("maestro destroy", "unknown command 'destroy'"),
        ("maestro plan -d", "`-d` needs a value"),
        ("maestro plan -x 1", "unknown argument '-x'"),
        ("maestro unlock -d", "`-d` needs a value"),
        ("maestro plan -d ../../etc", "must be relative"),
        ("maestro plan -d /abs", "must be relative"),
        ('maestro plan -d "open', "cannot read the command"),
    ],
)
def test_invalid_commands_answer_with_help(body: str, error: str) -> None:
    command = parse_command(body)
    assert command is not None
    assert command.name == "help"
    assert command.error is not None and error in command.error


def test_configurable_prefix() -> None:
    assert parse_command("ops plan", prefix="ops") == Command(name="plan")
    assert parse_command("maestro plan", prefix="ops") is None
    assert "`ops plan" in help_text("ops")
    assert help_text(error="unknown command 'x'").startswith("⚠️ unknown command 'x'")
