"""Domain errors of the notes API; mapped to HTTP status in `main.py`, and only there."""

from __future__ import annotations


class NotesError(Exception):
    """Base class of every error the API maps to a response."""


class NoteNotFoundError(NotesError):
    def __init__(self, note_id: int) -> None:
        super().__init__(f"note {note_id} not found")
        self.note_id = note_id
