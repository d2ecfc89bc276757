"""A throwaway PostgreSQL cluster for tests: initdb in a temp dir, a free loopback port.

PostgreSQL refuses to run as root, so as root the server binaries run as the
`postgres` system user (Debian's package creates it) in a directory that user owns.
Also imported by the stack tests in tests/integration/app/.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "notes"
PASSWORD = "test-only-password"
DATABASE = "notes"


@dataclass(frozen=True)
class Cluster:
    port: int
    datadir: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"


def postgres_bindir() -> Path:
    """The newest installed server (initdb is not on PATH on Debian)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    if not found:
        raise RuntimeError("PostgreSQL server not installed: run scripts/setup/app.sh")
    return Path(found[-1]).parent


def _major(path: str) -> int:
    return int(Path(path).parent.parent.name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _run(argv: list[str]) -> None:
    result = subprocess.run(_as_server_user(argv), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {result.stdout}{result.stderr}")


def _init(bindir: Path, root: Path) -> Path:
    datadir = root / "data"
    pwfile = root / "pwfile"
    pwfile.write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    flags = ["--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"]
    _run([str(bindir / "initdb"), "-D", str(datadir), "-U", USER, f"--pwfile={pwfile}", *flags])
    return datadir


def _start(bindir: Path, root: Path, datadir: Path, port: int) -> None:
    # fsync off and a socket dir inside the temp dir: fast, and nothing outside is touched.
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    options += " -c synchronous_commit=off -c full_page_writes=off"
    log = root / "server.log"
    _run([str(bindir / "pg_ctl"), "-D", str(datadir), "-o", options, "-l", str(log), "-w", "start"])


def _create_database(bindir: Path, port: int) -> None:
    env = {**os.environ, "PGPASSWORD": PASSWORD}
    argv = [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE]
    subprocess.run(argv, env=env, check=True, capture_output=True)


@contextmanager
def running_cluster() -> Iterator[Cluster]:
    """Start a cluster with an empty `notes` database; stop and delete it on exit."""
    bindir = postgres_bindir()
    # As root the server user must reach the directory: under /tmp it can, under a
    # TMPDIR inside /root it could not.
    root = Path(tempfile.mkdtemp(prefix="notes-pg-", dir="/tmp" if os.geteuid() == 0 else None))
    datadir = _init(bindir, root)
    port = free_port()
    try:
        _start(bindir, root, datadir, port)
        _create_database(bindir, port)
        yield Cluster(port=port, datadir=datadir)
    finally:
        # Not _run: when start failed there is nothing to stop, and its error must not
        # hide the start's.
        stop = [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_server_user(stop), capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
