"""Local mode's image registry: Debian's ``docker-registry`` serving on loopback.

The image step pushes there (plain HTTP, ``tls_verify: false``) and ``skopeo inspect``
reads back what was pushed. The controller's local mode and the tests start it through
``LocalRegistry``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


class RegistryError(RuntimeError):
    """docker-registry is missing or did not start listening."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ended_with_parent() -> list[str]:
    """A prefix that has the registry sent SIGTERM when the thread that started it dies,
    even by SIGKILL (util-linux's ``setpriv --pdeathsig``, where installed)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM"] if setpriv else []


class LocalRegistry:
    """``with LocalRegistry(data_dir) as address:`` yields ``localhost:<port>``."""

    def __init__(self, data_dir: str | Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.address = f"localhost:{self.port}"
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> str:
        binary = shutil.which("docker-registry")
        if not binary:
            raise RegistryError("docker-registry is not installed (Debian package docker-registry)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "config.yml"
        config.write_text(
            "version: 0.1\nlog: {level: warn}\n"
            f"storage: {{filesystem: {{rootdirectory: '{self.data_dir / 'data'}'}}}}\n"
            f"http: {{addr: '127.0.0.1:{self.port}'}}\n"
        )
        self._proc = subprocess.Popen(
            [*_ended_with_parent(), binary, "serve", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RegistryError(f"docker-registry exited {self._proc.returncode}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self.address
            time.sleep(0.05)
        self.stop()
        raise RegistryError(f"docker-registry did not listen on {self.address}")

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
