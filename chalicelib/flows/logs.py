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
# The marker says how many chunks the step wrote; a few bytes of JSON.
MAX_MARKER_BYTES = 1024


class _Cursor(BaseModel):
    """What ``next`` encodes: the step and how many chunks (or whole-log slices) were read."""

    model_config = ConfigDict(extra="forbid")

    step: str = Field(pattern=STEP_NAME.pattern)
    read: int = Field(ge=0, le=10_000_000)


def encode_cursor(step: str, read: int) -> str:
    raw = json.dumps({"step": step, "read": read}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, step: str) -> int:
    """How many chunks of ``step`` the reader has; ``InvalidCursorError`` for anything else."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursorError("after: not a cursor this endpoint returned")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parsed = _Cursor.model_validate_json(raw)
    except (binascii.Error, ValueError, ValidationError):
        raise InvalidCursorError("after: not a cursor this endpoint returned") from None
    if parsed.step != step:
        raise InvalidCursorError(f"after: a cursor of step {parsed.step!r}, not {step!r}")
    return parsed.read


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
                {
                    "name": name,
                    "status": step_status(run, name),
                    "complete": _final(run, reader, prefix, name) is not None,
                }
                for name in step_names(run, reader.child_names(prefix + "logs"))
            ],
        }
    if not STEP_NAME.match(step):
        raise StepNotFoundError(f"run {run.id} has no step {step[:100]!r}")
    read = 0 if not after else decode_cursor(after, step)
    text, read, complete = _step_text(run, reader, prefix, step, read)
    return {
        "run_id": run.id,
        "step": step,
        "status": run.status.value,
        "step_status": step_status(run, step),
        "text": text,
        "next": encode_cursor(step, read),
        "complete": complete,
    }


def step_names(run: Run, logged: list[str]) -> list[str]:
    """Steps in the order they ran: finished ones, the live one, then any other with a log.

    ``logged`` are the names under ``logs/``: a step's chunk folder, or ``<step>.log``.
    """
    names: list[str] = []
    for name in [summary.get("name") for summary in run.steps] + [run.live_step]:
        if isinstance(name, str) and name not in names:
            names.append(name)
    for entry in logged:
        name = entry.removesuffix(".log")
        if STEP_NAME.match(name) and name not in names:
            names.append(name)
    return names


def step_status(run: Run, step: str) -> str:
    """``succeeded``/``failed``/``skipped`` once reported; before that ``running`` while the
    run is, and ``interrupted`` when the run ended without the step's result."""
    for summary in reversed(run.steps):
        if summary.get("name") == step and isinstance(summary.get("status"), str):
            return str(summary["status"])
    if run.status in (RunStatus.QUEUED, RunStatus.DISPATCHED, RunStatus.RUNNING):
        return "running" if run.status == RunStatus.RUNNING else "pending"
    return "interrupted"


def _step_text(
    run: Run, reader: ArtifactReader, prefix: str, step: str, read: int
) -> tuple[str, int, bool]:
    # The marker is read before the chunks: if it exists then, every chunk it counts is
    # already stored, so reaching its count means the text is whole.
    total = _final(run, reader, prefix, step)
    parts: list[bytes] = []
    seq = read
    while len(parts) < MAX_CHUNKS_PER_READ and (total is None or seq < total):
        chunk = reader.read_small(prefix + log_chunk_name(step, seq), LOG_CHUNK_BYTES)
        if chunk is None:
            break
        parts.append(chunk)
        seq += 1
    if total == 0 or (total is None and seq == 0):
        return _whole_log(run, reader, prefix, step, read, final=total is not None)
    if total is not None and read > total:
        raise InvalidCursorError("after: past the end of the step's log")
    if not parts and read > 0 and total is None and not _stored(reader, prefix, step, read - 1):
        raise InvalidCursorError("after: past the end of the step's log")
    complete = total is not None and seq >= total
    return b"".join(parts).decode(errors="replace"), seq, complete


def _stored(reader: ArtifactReader, prefix: str, step: str, seq: int) -> bool:
    return reader.read_small(prefix + log_chunk_name(step, seq), LOG_CHUNK_BYTES) is not None


def _whole_log(
    run: Run, reader: ArtifactReader, prefix: str, step: str, read: int, final: bool
) -> tuple[str, int, bool]:
    """A step with no chunks: its whole-step log (runs from before chunking), in chunk-sized
    slices; or nothing yet, for a step that started and has not shipped a chunk."""
    uri = run.artifacts.get(f"log:{step}") or prefix + f"logs/{step}.log"
    data = reader.read_bytes(uri)
    if data is None:
        known = run.live_step == step or any(s.get("name") == step for s in run.steps)
        if not (known or final):
            raise StepNotFoundError(f"run {run.id} has no log for step {step!r}")
        if read > 0:
            raise InvalidCursorError("after: past the end of the step's log")
        return "", 0, final
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
