"""The controller's child processes, found in ``/proc``, and how they are ended.

Local runners start in a session of their own (so that cancelling one kills its Terraform
too, and Ctrl-C in the terminal does not reach them mid-apply); ``docker-registry`` runs
beside the controller. Stopping the controller ends them all: each child's process group
gets SIGTERM, then SIGKILL for whatever still runs after ``grace`` seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Collection
from pathlib import Path

PROC = Path("/proc")


def children(pid: int | None = None) -> list[int]:
    """Direct children of ``pid`` (this process by default) that have not exited."""
    parent = os.getpid() if pid is None else pid
    found: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is not None and stat[1] == parent and stat[0] != "Z":
            found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, their children, ...)."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        below = children(frontier.pop())
        found += below
        frontier += below
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped has ended)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def stop_children(
    spare: Collection[int] = (), grace: float = 10.0, sleep: Callable[[float], None] = time.sleep
) -> list[int]:
    """End every child of this process but ``spare``, with its process group; returns them.

    ``spare``: children that were there before the controller started (an embedding
    program's own), which are not the controller's to end.
    """
    targets = [pid for pid in children() if pid not in spare]
    groups = {pid: _group_of(pid) for pid in targets}
    for pid in targets:
        _signal(pid, groups[pid], signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(alive(pid) for pid in targets) and time.monotonic() < deadline:
        sleep(0.05)
    for pid in targets:
        _signal(pid, groups[pid], signal.SIGKILL)  # the group too: its Terraform, say
    _reap(targets)
    return targets


def _signal(pid: int, group: int | None, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group is not None and group == pid:
            os.killpg(group, signum)  # a group leader: a runner and everything it started
        elif alive(pid):
            os.kill(pid, signum)


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _reap(pids: list[int]) -> None:
    """Collect the exit of children no ``Popen`` waits for, so none stays a zombie."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) from ``/proc/<pid>/stat``; the name may hold spaces and parens."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])
