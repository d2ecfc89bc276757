"""Run a tool as a subprocess: stream its output to the step log and stdout, keep the tail.

A tool sees an allow-listed environment, not the runner's: Terraform providers, Ansible
plugins and build steps run code from the repository, so they get no secret they do not
need. A secret reaches only the tool named for it (``TOOL_SECRETS``) or a call that passes it
explicitly (git's token, through ``env=``). The runner also makes itself non-dumpable, so a
tool running as the same user cannot read ``/proc/<runner>/environ``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import re
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from chalicelib.feedback.redact import encoded_forms
from chalicelib.jobs import LOG_CHUNK_BYTES, log_chunk_name, log_complete_name

TAIL_LINES = 40
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|API_KEY|ACCESS_KEY)", re.IGNORECASE)

# What every tool may see of the runner's environment.
TOOL_ENV_NAMES = frozenset(
    {
        "PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "USER", "LOGNAME", "TERM",
        "CHECKPOINT_DISABLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy",
        "https_proxy", "no_proxy", "DOCKER_HOST", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
        "XDG_DATA_HOME", "XDG_DATA_DIRS", "XDG_RUNTIME_DIR",
    }
)  # fmt: skip
# LC_* locale; AWS_* the runner's own identity and endpoints (Terraform and Ansible need it;
# in AWS the plan identity is read-only); TF_* and ANSIBLE_* configure those tools.
TOOL_ENV_PREFIXES = ("LC_", "AWS_", "TF_", "ANSIBLE_")
# More names for every tool, as the operator lists them (globs, comma-separated): a provider's
# own settings, e.g. ``ARM_*,GOOGLE_APPLICATION_CREDENTIALS``. Itself passed on to the runner.
ENV_TOOL_ENV = "MAESTRO_TOOL_ENV"
# A secret the runner holds goes only to the tool it is for (the program's file name).
TOOL_SECRETS: dict[str, tuple[str, ...]] = {
    "infracost": ("INFRACOST_API_KEY", "INFRACOST_PRICING_API_ENDPOINT"),
}


def tool_env(env: Mapping[str, str], program: str = "") -> dict[str, str]:
    """The part of ``env`` that ``program`` may see: the allow-list plus its own secrets.

    Terraform's version check (checkpoint-api.hashicorp.com, which also receives an id of the
    machine) is off unless the operator set ``CHECKPOINT_DISABLE`` themselves: a runner talks
    only to the endpoints its job names.

    >>> tool_env({"PATH": "/bin", "MAESTRO_GIT_TOKEN": "t", "INFRACOST_API_KEY": "k"})
    {'PATH': '/bin', 'CHECKPOINT_DISABLE': '1'}
    >>> sorted(tool_env({"INFRACOST_API_KEY": "k"}, "/usr/bin/infracost"))
    ['CHECKPOINT_DISABLE', 'INFRACOST_API_KEY']
    """
    own = TOOL_SECRETS.get(Path(program).name, ())
    listed = operator_listed(env)
    chosen = {
        name: value
        for name, value in env.items()
        if name in TOOL_ENV_NAMES
        or name.startswith(TOOL_ENV_PREFIXES)
        or name in own
        or listed(name)
    }
    chosen.setdefault("CHECKPOINT_DISABLE", "1")
    return chosen


def operator_listed(env: Mapping[str, str]) -> Callable[[str], bool]:
    """Whether a name matches one of the globs of ``MAESTRO_TOOL_ENV``."""
    globs = [g.strip() for g in env.get(ENV_TOOL_ENV, "").split(",") if g.strip()]
    return lambda name: any(fnmatch.fnmatchcase(name, glob) for glob in globs)


_hidden = False


def hide_environment() -> None:
    """Keep this process's secrets from the tools it starts, even those running as root.

    Non-dumpable (Linux ``PR_SET_DUMPABLE`` 0): processes of the same user can no longer read
    ``/proc/<pid>/environ`` nor attach; ``execve`` makes each child dumpable again, so the
    tools themselves are unaffected. Root ignores that flag, so the values of secret-named
    variables are also overwritten in the environment block that file shows (Python's
    ``os.environ`` is a copy taken at start-up and keeps them).
    """
    global _hidden
    if _hidden or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_dumpable = 4
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_dumpable, 0, 0, 0, 0)
    _scrub_environ_block()
    _hidden = True


def _scrub_environ_block() -> None:
    try:
        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (fields 50, 51)
        with open("/proc/self/mem", "r+b", buffering=0) as mem:
            mem.seek(start)
            block = bytearray(mem.read(end - start))
            if _mask_secret_values(block):
                mem.seek(start)
                mem.write(block)
    except (OSError, ValueError, IndexError):
        pass  # an older kernel or a restricted /proc: non-dumpable still holds for non-root


def _mask_secret_values(block: bytearray) -> bool:
    """Overwrite, in place, the values of ``NAME=value`` entries whose names say secret."""
    offset, changed = 0, False
    for entry in bytes(block).split(b"\0"):
        name, eq, value = entry.partition(b"=")
        if eq and value and _SECRET_NAME.search(name.decode(errors="replace")):
            at = offset + len(name) + 1
            block[at : at + len(value)] = b"*" * len(value)
            changed = True
        offset += len(entry) + 1
    return changed


@dataclass
class Completed:
    args: list[str]
    returncode: int
    stdout: str  # captured output when ``capture`` was asked, else ""
    tail: str


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Values of variables whose names say they are secret, longest first, to mask in logs."""
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 6}
    return sorted(values, key=len, reverse=True)


def masked_forms(values: Sequence[str]) -> list[str]:
    """Each secret and its base64 (any alignment), hex and URL-encoded forms, longest first.

    The encodings are the comment redaction's own (``feedback.redact.encoded_forms``), so a
    log and a comment mask the same forms.
    """
    forms = set(values)
    for value in values:
        forms |= encoded_forms(value)
    return sorted((f for f in forms if len(f) >= 6), key=len, reverse=True)


def mask_secrets(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every form in ``secrets`` replaced by ``***`` (step logs, echoed commands)."""
    for value in secrets:
        text = text.replace(value, "***")
    return text


ENV_LOG_SHIP_SECONDS = "MAESTRO_LOG_SHIP_SECONDS"
DEFAULT_LOG_SHIP_SECONDS = 2.0


def cut_chunks(
    pending: bytes, final: bool, limit: int = LOG_CHUNK_BYTES
) -> tuple[list[bytes], bytes]:
    """Split redacted log bytes into chunks to ship now, and the rest to keep for later.

    Only whole lines go while the step runs (a line still being written waits), unless a
    line alone outgrows ``limit``; ``final`` ships everything. A chunk ends at a line when
    one fits, else at ``limit`` on a UTF-8 character boundary. The text is masked before it
    gets here, so a cut can never split a secret out of its mask.

    >>> cut_chunks(b"one\\ntwo\\nthr", final=False, limit=5)
    ([b'one\\n', b'two\\n'], b'thr')
    >>> cut_chunks(b"abcdefg", final=False, limit=5)
    ([b'abcde'], b'fg')
    """
    end = len(pending) if final else pending.rfind(b"\n") + 1
    if not final and end == 0 and len(pending) >= limit:
        end = _char_boundary(pending[: len(pending) - len(pending) % limit])
    chunks: list[bytes] = []
    start = 0
    while start < end:
        piece = pending[start : min(end, start + limit)]
        if start + len(piece) < end:
            newline = piece.rfind(b"\n")
            piece = piece[: newline + 1] if newline >= 0 else piece[: _char_boundary(piece)]
        chunks.append(piece)
        start += len(piece)
    return chunks, pending[end:]


def _char_boundary(data: bytes) -> int:
    """The longest prefix of ``data`` that does not end inside a UTF-8 character."""
    end = len(data)
    back = 0
    while back < 4 and end - back - 1 >= 0 and data[end - back - 1] & 0xC0 == 0x80:
        back += 1
    lead = end - back - 1
    if lead >= 0 and data[lead] >= 0xC0:
        width = 2 if data[lead] < 0xE0 else 3 if data[lead] < 0xF0 else 4
        if back + 1 < width:
            return lead or end  # a lone lead byte at the start: cut it as is
    return end


class LogShipper:
    """Ships a step's redacted log to the artifact store while the step runs.

    Chunks ``logs/<step>/<seq>.log`` go out every ``interval`` seconds, or as soon as
    ``LOG_CHUNK_BYTES`` are waiting; ``close`` ships the rest and then the marker
    ``logs/<step>/complete`` with the chunk count. A failed upload is retried on the next
    round and never fails the step: the whole-step log is still uploaded at its end. Without
    every chunk stored, no marker is written, so a reader never takes a gap for the end.
    """

    def __init__(
        self,
        put: Callable[[str, bytes], object],
        step: str,
        interval: float = DEFAULT_LOG_SHIP_SECONDS,
    ) -> None:
        self._put = put
        self._step = step
        self._interval = interval
        self._pending = bytearray()
        self._unsent: list[bytes] = []
        self._sequence = 0
        self._lock = threading.Lock()  # the buffer: written by the step, read by the thread
        self._ship_lock = threading.Lock()  # one round at a time, in sequence order
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def chunks(self) -> int:
        return self._sequence

    def __enter__(self) -> LogShipper:
        self._thread = threading.Thread(target=self._loop, name=f"log-{self._step}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, text: str) -> None:
        """Queue redacted text; a full chunk wakes the shipping thread at once."""
        with self._lock:
            self._pending += text.encode()
            full = len(self._pending) >= LOG_CHUNK_BYTES
        if full:
            self._wake.set()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self._ship(final=True)
        if not self._unsent:
            body = json.dumps({"chunks": self._sequence}).encode()
            with contextlib.suppress(Exception):
                self._put(log_complete_name(self._step), body)

    def _loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if not self._closed.is_set():
                self._ship(final=False)

    def _ship(self, final: bool) -> None:
        with self._ship_lock:
            with self._lock:
                chunks, rest = cut_chunks(bytes(self._pending), final)
                self._pending = bytearray(rest)
            self._unsent.extend(chunks)
            while self._unsent:
                try:
                    self._put(log_chunk_name(self._step, self._sequence), self._unsent[0])
                except Exception:
                    return  # kept, in order, for the next round
                self._unsent.pop(0)
                self._sequence += 1


class ProcessRunner:
    """Runs commands for one step; every line goes to ``log_path`` (redacted) and stdout,
    and to ``shipper`` when the step's log is shipped while it runs."""

    def __init__(
        self,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        echo: bool = True,
        shipper: LogShipper | None = None,
    ):
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.echo = echo
        self.shipper = shipper
        self._values = secret_values(self.env)
        self._secrets = masked_forms(self._values)

    def run(
        self,
        args: Sequence[str],
        cwd: Path | None = None,
        capture: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> Completed:
        """Run ``args``; with ``capture`` stdout is returned and not logged (JSON outputs).

        The tool gets ``tool_env`` of the runner's environment plus ``env`` as given.
        """
        merged = {**tool_env(self.env, args[0]), **(env or {})}
        extra = [v for v in secret_values(env or {}) if v not in self._values]
        if extra:
            self._values += extra
            self._secrets = masked_forms(self._values)
        hide_environment()
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            command = mask_secrets(f"$ {' '.join(args)}\n", self._secrets)
            log.write(command)
            if self.shipper is not None:
                self.shipper.write(command)
            proc = subprocess.Popen(
                list(args),
                cwd=cwd,
                env=merged,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if capture else subprocess.STDOUT,
                text=True,
            )
            if capture:
                out, err = proc.communicate()
                self._write(log, err, tail)
            else:
                assert proc.stdout is not None
                for line in proc.stdout:
                    self._write(log, line, tail)
                proc.wait()
                out = ""
        return Completed(list(args), proc.returncode, out, "".join(tail))

    def _write(self, log, text: str, tail: deque[str]) -> None:
        if not text:
            return
        clean = mask_secrets(text, self._secrets)
        log.write(clean)
        if self.shipper is not None:
            self.shipper.write(clean)
        for line in clean.splitlines(keepends=True):
            tail.append(line)
        if self.echo:
            sys.stdout.write(clean)
            sys.stdout.flush()
