"""Run a tool as a subprocess: stream its output to the step log and stdout, keep the tail."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TAIL_LINES = 40
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|API_KEY|ACCESS_KEY)", re.IGNORECASE)


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


def redact(text: str, secrets: Sequence[str]) -> str:
    for value in secrets:
        text = text.replace(value, "***")
    return text


class ProcessRunner:
    """Runs commands for one step; every line goes to ``log_path`` (redacted) and stdout."""

    def __init__(self, log_path: Path, env: Mapping[str, str] | None = None, echo: bool = True):
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.echo = echo
        self._secrets = secret_values(self.env)

    def run(
        self,
        args: Sequence[str],
        cwd: Path | None = None,
        capture: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> Completed:
        """Run ``args``; with ``capture`` stdout is returned and not logged (JSON outputs)."""
        merged = {**self.env, **(env or {})}
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            log.write(f"$ {' '.join(args)}\n")
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
        clean = redact(text, self._secrets)
        log.write(clean)
        for line in clean.splitlines(keepends=True):
            tail.append(line)
        if self.echo:
            sys.stdout.write(clean)
            sys.stdout.flush()
