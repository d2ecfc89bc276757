"""A run's step logs as they grow: the chunks the runner ships while a step runs.

The runner writes ``logs/<step>/<seq:06d>.log`` (redacted, at most ``LOG_CHUNK_BYTES`` each)
under the run's artifact prefix while the step runs, then ``logs/<step>/complete`` holding
the chunk count. A reader passes back the ``next`` cursor it was given and receives only
what came after it. Runs from before chunking have only the whole-step ``logs/<step>.log``;
that is served the same way, sliced, and complete at once.

Both the API (``GET /runs/{id}/logs``) and the run pages call ``read_logs``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.jobs import LOG_CHUNK_BYTES, log_chunk_name, log_complete_name
from chalicelib.runs.exceptions import InvalidCursorError, StepNotFoundError
from chalicelib.runs.model import TERMINAL, Run, RunStatus
from chalicelib.settings import Settings
from chalicelib.store.artifacts import ArtifactReader

# At most this many chunks per answer: 2 MiB, far below Lambda's 6 MB response.
MAX_CHUNKS_PER_READ = 32
# A step name is a path segment of the artifact prefix: nothing else may reach the store.
STEP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_CURSOR_CHARS = 400
CHECKOUT = "checkout"  # the runner's clone, logged like a step before the job's steps
# The marker says how many chunks the step wrote; a few bytes of JSON.
MAX_MARKER_BYTES = 1024


class _Cursor(BaseModel):
    """What ``next`` encodes: the step, how many chunks were read, or with ``whole`` how many
    slices of a whole-step log."""

    model_config = ConfigDict(extra="forbid")

    step: str = Field(pattern=STEP_NAME.pattern)
    read: int = Field(ge=0, le=10_000_000)
    whole: bool = False


def encode_cursor(step: str, read: int, whole: bool = False) -> str:
    fields: dict[str, Any] = {"step": step, "read": read, **({"whole": True} if whole else {})}
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, step: str) -> _Cursor:
    """Where in ``step`` the reader is; ``InvalidCursorError`` for anything else."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursorError("after: not a cursor this endpoint returned")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parsed = _Cursor.model_validate_json(raw)
    except (binascii.Error, ValueError, ValidationError):
        raise InvalidCursorError("after: not a cursor this endpoint returned") from None
    if parsed.step != step:
        raise InvalidCursorError(f"after: a cursor of step {parsed.step!r}, not {step!r}")
    return parsed


def run_artifact_prefix(settings: Settings, run_id: str) -> str:
    """Where a run's artifacts live: the prefix ``pipelines/jobspec.build_job`` gives its job."""
    if settings.local_data_dir:
        return Path(settings.local_data_dir, "artifacts", "runs", run_id).as_uri() + "/"
    return f"s3://{settings.artifacts_bucket}/runs/{run_id}/"


def read_logs(
    services: Any, run_id: str, step: str | None = None, after: str | None = None
) -> dict[str, Any]:
    """The run's steps and whether each log is final (no ``step``), or one step's new text.

    Raises ``RunNotFoundError`` / ``StepNotFoundError`` (404) and ``InvalidCursorError`` (400).
    """
    run = services.store.get(run_id)
    reader = _reader(services)
    prefix = run_artifact_prefix(services.settings, run.id)
    if step is None:
        return {
            "run_id": run.id,
            "status": run.status.value,
            "steps": [
                _listed(run, name, _final(run, reader, prefix, name) is not None)
                for name in step_names(run, reader.child_names(prefix + "logs"))
            ],
        }
    if not STEP_NAME.match(step):
        raise StepNotFoundError(f"run {run.id} has no step {step[:100]!r}")
    cursor = decode_cursor(after, step) if after else _Cursor(step=step, read=0)
    if cursor.whole:
        text, read, complete = _whole_log(run, reader, prefix, step, cursor.read)
        whole = True
    else:
        text, read, complete, whole = _step_text(run, reader, prefix, step, cursor.read)
    return {
        "run_id": run.id,
        "step": step,
        "status": run.status.value,
        "step_status": step_status(run, step, complete),
        "text": text,
        "next": encode_cursor(step, read, whole),
        "complete": complete,
    }


def _listed(run: Run, name: str, complete: bool) -> dict[str, Any]:
    return {"name": name, "status": step_status(run, name, complete), "complete": complete}


def step_names(run: Run, logged: list[str]) -> list[str]:
    """Steps in the order they ran: the checkout, finished ones, the live one, then any other
    with a log.

    ``logged`` are the names under ``logs/``: a step's chunk folder, or ``<step>.log``.
    """
    names: list[str] = [CHECKOUT] if CHECKOUT in logged else []
    for name in [summary.get("name") for summary in run.steps] + [run.live_step]:
        if isinstance(name, str) and name not in names:
            names.append(name)
    for entry in logged:
        name = entry.removesuffix(".log")
        if STEP_NAME.match(name) and name not in names:
            names.append(name)
    return names


def step_status(run: Run, step: str, complete: bool = False) -> str:
    """``succeeded``/``failed``/``skipped`` once reported; before that ``pending`` or
    ``running`` with the run, and ``interrupted`` when the run ended without the step's result.

    The checkout reports no result of its own: it failed when the run says so, and succeeded
    once its log is complete otherwise.
    """
    for summary in reversed(run.steps):
        if summary.get("name") == step and isinstance(summary.get("status"), str):
            return str(summary["status"])
    if step == CHECKOUT and run.failed_step == CHECKOUT:
        return "failed"
    if step == CHECKOUT and complete:
        return "succeeded"
    if run.status in (RunStatus.QUEUED, RunStatus.DISPATCHED, RunStatus.RUNNING):
        return "running" if run.status == RunStatus.RUNNING else "pending"
    return "interrupted"


def _step_text(
    run: Run, reader: ArtifactReader, prefix: str, step: str, read: int
) -> tuple[str, int, bool, bool]:
    """The chunks after ``read``: text, the new count, whether complete, and whether the
    answer came from the whole-step log instead (a step that never had chunks)."""
    # The marker is read before the chunks: if it exists then, every chunk it counts is
    # already stored, so reaching its count means the text is whole.
    total = _final(run, reader, prefix, step)
    if total is not None and read > total:
        raise InvalidCursorError("after: past the end of the step's log")
    parts: list[bytes] = []
    seq = read
    while len(parts) < MAX_CHUNKS_PER_READ and (total is None or seq < total):
        chunk = reader.read_small(prefix + log_chunk_name(step, seq), LOG_CHUNK_BYTES)
        if chunk is None:
            break
        parts.append(chunk)
        seq += 1
    if read == 0 and seq == 0:
        return _first_read_without_chunks(run, reader, prefix, step, final=total is not None)
    if not parts and read > 0 and total is None and not _stored(reader, prefix, step, read - 1):
        raise InvalidCursorError("after: past the end of the step's log")
    complete = total is not None and seq >= total
    return b"".join(parts).decode(errors="replace"), seq, complete, False


def _first_read_without_chunks(
    run: Run, reader: ArtifactReader, prefix: str, step: str, final: bool
) -> tuple[str, int, bool, bool]:
    """A run from before chunking has the whole-step log; a step that started has nothing
    yet; any other step is unknown."""
    if reader.read_bytes(_whole_log_uri(run, prefix, step)) is not None:
        return (*_whole_log(run, reader, prefix, step, 0), True)
    known = run.live_step == step or any(s.get("name") == step for s in run.steps)
    marked = reader.read_small(prefix + log_complete_name(step), MAX_MARKER_BYTES) is not None
    if not (known or marked):
        raise StepNotFoundError(f"run {run.id} has no log for step {step!r}")
    return "", 0, final, False


def _stored(reader: ArtifactReader, prefix: str, step: str, seq: int) -> bool:
    return reader.read_small(prefix + log_chunk_name(step, seq), LOG_CHUNK_BYTES) is not None


def _whole_log_uri(run: Run, prefix: str, step: str) -> str:
    return run.artifacts.get(f"log:{step}") or prefix + f"logs/{step}.log"


def _whole_log(
    run: Run, reader: ArtifactReader, prefix: str, step: str, read: int
) -> tuple[str, int, bool]:
    """The whole-step log in chunk-sized slices after ``read``: uploaded once, complete."""
    data = reader.read_bytes(_whole_log_uri(run, prefix, step))
    if data is None:
        raise InvalidCursorError("after: the step's log is not where this cursor points")
    slices = -(-len(data) // LOG_CHUNK_BYTES)
    if read > slices:
        raise InvalidCursorError("after: past the end of the step's log")
    end = min(slices, read + MAX_CHUNKS_PER_READ)
    text = data[read * LOG_CHUNK_BYTES : end * LOG_CHUNK_BYTES]
    return text.decode(errors="replace"), end, end >= slices


def _final(run: Run, reader: ArtifactReader, prefix: str, step: str) -> int | None:
    """The step's chunk count once its log is final, else ``None``.

    A run that ended while its runner never wrote the marker (it died, or was cancelled)
    gets no more chunks either: what is stored is final.
    """
    raw = reader.read_small(prefix + log_complete_name(step), MAX_MARKER_BYTES)
    if raw is not None:
        try:
            chunks = json.loads(raw).get("chunks")
        except (ValueError, AttributeError):
            chunks = None
        if isinstance(chunks, int) and chunks >= 0:
            return chunks
    if run.status in TERMINAL or run.status == RunStatus.UNKNOWN:
        seq = 0
        while _stored(reader, prefix, step, seq):
            seq += 1
        return seq
    return None


def _reader(services: Any) -> ArtifactReader:
    reader = getattr(services, "artifact_reader", None)
    return reader if isinstance(reader, ArtifactReader) else ArtifactReader()
