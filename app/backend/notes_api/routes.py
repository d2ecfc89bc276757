"""HTTP routes: parse, call the repository, shape the response."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from notes_api import repository
from notes_api.db import database_reachable, session_scope
from notes_api.schemas import NoteCreate, NoteOut, NotePage, NoteUpdate


def get_session(request: Request) -> Iterator[Session]:
    yield from session_scope(request.app.state.sessionmaker)


SessionDep = Annotated[Session, Depends(get_session)]

notes = APIRouter(prefix="/api/notes", tags=["notes"])
probes = APIRouter(tags=["probes"])


@notes.get("", response_model=NotePage)
def list_notes(
    request: Request,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> NotePage:
    limit = min(limit, request.app.state.settings.page_size_max)
    items, total = repository.list_notes(session, limit, offset)
    page = [NoteOut.model_validate(n) for n in items]
    return NotePage(items=page, total=total, limit=limit, offset=offset)


@notes.post("", response_model=NoteOut, status_code=status.HTTP_201_CREATED)
def create_note(data: NoteCreate, session: SessionDep) -> NoteOut:
    return NoteOut.model_validate(repository.create_note(session, data))


@notes.get("/{note_id}", response_model=NoteOut)
def get_note(note_id: int, session: SessionDep) -> NoteOut:
    return NoteOut.model_validate(repository.get_note(session, note_id))


@notes.patch("/{note_id}", response_model=NoteOut)
def update_note(note_id: int, data: NoteUpdate, session: SessionDep) -> NoteOut:
    return NoteOut.model_validate(repository.update_note(session, note_id, data))


@notes.delete("/{note_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_note(note_id: int, session: SessionDep) -> Response:
    repository.delete_note(session, note_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@probes.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers. Never touches the database, so a database
    outage does not get healthy backends restarted."""
    return {"status": "ok"}


@probes.get("/api/health")
def api_health(request: Request) -> JSONResponse:
    """The deploy's check through Traefik (which routes only ``/api`` here): 200 when the
    backend can serve, i.e. reach its database. It names the service, so a 200 from
    something else on the route (the frontend's catch-all page) does not pass for it."""
    if database_reachable(request.app.state.engine):
        return JSONResponse({"service": "notes-api", "status": "ok"})
    return JSONResponse({"service": "notes-api", "status": "database unreachable"}, status_code=503)


@probes.get("/ready")
def ready(request: Request) -> JSONResponse:
    """Readiness: the database answers a query."""
    if database_reachable(request.app.state.engine):
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "database unreachable"}, status_code=503)
