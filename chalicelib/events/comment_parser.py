"""Comment commands: ``maestro plan|apply|unlock|help|approve-cost`` in PR comments.

Like Atlantis, only a comment whose first non-empty line starts with the prefix is a command,
so that quoting or discussing a command in prose never runs it. Flags follow the command:
``maestro plan -d infra -w staging``.
"""

from __future__ import annotations

import shlex
from typing import Literal

from pydantic import BaseModel, ConfigDict

CommandName = Literal["plan", "apply", "unlock", "help", "approve-cost"]
COMMANDS: tuple[CommandName, ...] = ("plan", "apply", "unlock", "help", "approve-cost")
DEFAULT_PREFIX = "maestro"

_DIR_FLAGS = ("-d", "--dir")
_WORKSPACE_FLAGS = ("-w", "--workspace")
_TAKES_TARGET = ("plan", "apply", "unlock")


class Command(BaseModel):
    """A parsed command; ``error`` is set (and ``name`` is ``help``) when it is not valid."""

    model_config = ConfigDict(frozen=True)

    name: CommandName
    directory: str | None = None
    workspace: str | None = None
    reason: str | None = None  # approve-cost: why the cost increase is accepted
    error: str | None = None


def _first_line(body: str) -> str:
    for line in body.replace("\r\n", "\n").split("\n"):
        if line.strip():
            return line.strip()
    return ""


def _invalid(message: str) -> Command:
    return Command(name="help", error=message)


def _parse_flags(name: CommandName, args: list[str]) -> Command:
    values: dict[str, str] = {}
    rest = iter(args)
    for arg in rest:
        field = (
            "directory" if arg in _DIR_FLAGS else "workspace" if arg in _WORKSPACE_FLAGS else None
        )
        if field is None or name not in _TAKES_TARGET:
            return _invalid(f"unknown argument {arg!r} for `{name}`")
        value = next(rest, None)
        if value is None or value.startswith("-"):
            return _invalid(f"`{arg}` needs a value")
        if field == "directory" and (value.startswith("/") or ".." in value.split("/")):
            return _invalid(f"directory {value!r} must be relative to the repository root")
        values[field] = value
    return Command(name=name, **values)


def parse_command(body: str, prefix: str = DEFAULT_PREFIX) -> Command | None:
    """The command of a PR comment, ``None`` when the comment is not addressed to MaestrOps.

    >>> parse_command("maestro plan -d infra")
    Command(name='plan', directory='infra', workspace=None, reason=None, error=None)
    """
    line = _first_line(body)
    try:
        words = shlex.split(line)
    except ValueError as exc:  # an unbalanced quote
        addressed = line.split()[0] == prefix
        return _invalid(f"cannot read the command: {exc}") if addressed else None
    if not words or words[0] != prefix:
        return None
    if len(words) == 1:
        return Command(name="help")
    name, args = words[1], words[2:]
    if name not in COMMANDS:
        return _invalid(f"unknown command {name!r}")
    if name == "approve-cost":
        return Command(name="approve-cost", reason=" ".join(args) or None)
    return _parse_flags(name, args)  # type: ignore[arg-type]


def help_text(prefix: str = DEFAULT_PREFIX, error: str | None = None) -> str:
    """The answer to ``maestro help`` (and to a command that could not be read)."""
    lines = [f"⚠️ {error}", ""] if error else []
    lines += [
        "**MaestrOps commands** (first line of a comment):",
        "",
        f"- `{prefix} plan [-d DIR] [-w WORKSPACE]`: plan again",
        f"- `{prefix} apply [-d DIR] [-w WORKSPACE]`: apply before merge (when enabled)",
        f"- `{prefix} unlock`: release this PR's workspace locks",
        f"- `{prefix} approve-cost [REASON]`: accept a cost increase over the policy",
        f"- `{prefix} help`: this text",
    ]
    return "\n".join(lines)
