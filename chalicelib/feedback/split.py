"""Split a long comment into numbered comments under GitHub's 65,536-character limit.

A comment is a list of ``Section``s. The splitter only cuts between lines, and when it cuts
inside a block (a table, a fenced code block inside ``<details>``) it closes the block at the
end of one comment and opens it again at the start of the next, so every comment is valid
Markdown on its own. The first section (the summary) always opens the first comment.

Lengths are counted in UTF-16 code units, as GitHub (and JavaScript) counts them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chalicelib.feedback.exceptions import CommentTooLongError

GITHUB_COMMENT_LIMIT = 65_536
# Room left unused in every comment, for the odd character GitHub counts differently.
SAFETY_MARGIN = 64
# A line longer than this is shortened (it could never fit a comment with its block anyway).
_CUT_NOTE = " … (line shortened: {} characters)"

Header = Callable[[int, int], str]  # (part, total) -> the first lines of that comment


def gh_len(text: str) -> int:
    """Length as GitHub counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Section:
    """A run of lines; ``opener``/``closer`` wrap it and are repeated at every cut."""

    lines: Sequence[str]
    opener: str = ""
    closer: str = ""
    reopener: str | None = None  # opener of a continuation; defaults to ``opener``
    keep_together: bool = False  # never cut (the summary)


@dataclass
class _Part:
    chunks: list[str] = field(default_factory=list)
    size: int = 0

    def add(self, text: str) -> None:
        self.chunks.append(text)
        self.size += gh_len(text) + 1  # and its newline


def _shorten(line: str, room: int) -> str:
    note = _CUT_NOTE.format(gh_len(line))
    keep = max(room - gh_len(note), 0)
    cut = line[:keep]
    while gh_len(cut) > keep:  # astral characters count twice
        cut = cut[:-1]
    return cut + note


@dataclass
class _Splitter:
    budget: int
    max_parts: int | None
    overflow_note: str
    parts: list[_Part] = field(default_factory=lambda: [_Part()])
    truncated: bool = False

    @property
    def current(self) -> _Part:
        return self.parts[-1]

    def room(self) -> int:
        return self.budget - self.current.size

    def new_part(self) -> bool:
        """Start the next comment; False (and the overflow note) when the cap is reached."""
        if self.current.chunks and self.current.chunks[-1] == "":
            self.current.chunks.pop()  # no trailing blank line before a cut
            self.current.size -= 1
        if self.max_parts is not None and len(self.parts) >= self.max_parts:
            self.truncated = True
            self.current.add(self.overflow_note)
            return False
        self.parts.append(_Part())
        return True

    def place_whole(self, section: Section) -> bool | None:
        """True when placed, False when the cap stopped it, None when it must be cut."""
        text = _render(section)
        size = gh_len(text) + 1
        if size <= self.room():
            self.current.add(text)
            return True
        if size <= self.budget and self.current.size:
            # It fits in a comment of its own: start the next one rather than cut the block.
            return self.new_part() and self.place_whole(section)
        if section.keep_together:
            raise CommentTooLongError(f"a section of {size} characters cannot be split")
        return None

    def place_lines(self, section: Section) -> bool:
        reopener = section.opener if section.reopener is None else section.reopener
        closer = gh_len(section.closer) + 1 if section.closer else 0
        frame = closer + max(gh_len(section.opener), gh_len(reopener)) + 1
        if self.room() < frame + 80 and self.current.size and not self.new_part():
            return False
        if section.opener:
            self.current.add(section.opener)
        part, budget = self.current, self.budget
        for line in section.lines:  # the hot loop of a large plan: locals only
            need = (len(line) if line.isascii() else gh_len(line)) + 1
            if part.size + need + closer > budget:
                if not self._cut(section, reopener):
                    return False
                part = self.current
                if part.size + need + closer > budget:
                    line = _shorten(line, budget - part.size - closer - 1)
                    need = gh_len(line) + 1
            part.chunks.append(line)
            part.size += need
        if section.closer:
            part.add(section.closer)
        return True

    def _cut(self, section: Section, reopener: str) -> bool:
        """Close the open block, start the next comment and open the block again there."""
        if section.closer:
            self.current.add(section.closer)
        if not self.new_part():
            return False
        if reopener:
            self.current.add(reopener)
        return True


def _render(section: Section) -> str:
    head = [section.opener] if section.opener else []
    tail = [section.closer] if section.closer else []
    return "\n".join([*head, *section.lines, *tail])


def split_comment(
    sections: Sequence[Section],
    header: Header,
    *,
    limit: int = GITHUB_COMMENT_LIMIT,
    max_parts: int | None = None,
    overflow_note: str = "_… the rest is in the full plan linked above._",
) -> list[str]:
    """Lay ``sections`` out in as few comments as fit; returns their bodies in order.

    ``header(part, total)`` gives each comment's first lines (markers, "part 2 of 3").
    With ``max_parts``, the last allowed comment ends with ``overflow_note`` instead.
    """
    reserve = gh_len(header(99_999, 99_999)) + 1 + gh_len(overflow_note) + 1 + SAFETY_MARGIN
    splitter = _Splitter(budget=limit - reserve, max_parts=max_parts, overflow_note=overflow_note)
    for index, section in enumerate(sections):
        gap = index > 0 and splitter.current.size > 0
        if gap and splitter.room() > 1:
            splitter.current.add("")  # blank line between sections
        placed = splitter.place_whole(section)
        if placed is False or (placed is None and not splitter.place_lines(section)):
            break
    total = len(splitter.parts)
    return [
        "\n".join([header(number, total), *part.chunks])
        for number, part in enumerate(splitter.parts, start=1)
    ]
