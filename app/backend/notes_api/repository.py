"""Data access for notes: plain functions over a session, so handlers stay a few lines."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notes_api.db import Note
from notes_api.exceptions import NoteNotFoundError
from notes_api.schemas import NoteCreate, NoteUpdate


def create_note(session: Session, data: NoteCreate) -> Note:
    note = Note(title=data.title, body=data.body)
    session.add(note)
    # flush + refresh fetch the server defaults (id, timestamps) inside the same transaction.
    session.flush()
    session.refresh(note)
    return note


def list_notes(session: Session, limit: int, offset: int) -> tuple[list[Note], int]:
    """Newest first; the id breaks ties so pages never overlap."""
    total = session.scalar(select(func.count()).select_from(Note)) or 0
    query = select(Note).order_by(Note.created_at.desc(), Note.id.desc())
    notes = session.scalars(query.limit(limit).offset(offset)).all()
    return list(notes), total


def get_note(session: Session, note_id: int) -> Note:
    note = session.get(Note, note_id)
    if note is None:
        raise NoteNotFoundError(note_id)
    return note


def update_note(session: Session, note_id: int, data: NoteUpdate) -> Note:
    note = get_note(session, note_id)
    for field, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(note, field, value)
    session.flush()
    session.refresh(note)
    return note


def delete_note(session: Session, note_id: int) -> None:
    session.delete(get_note(session, note_id))
