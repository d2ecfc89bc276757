"""Start the notes app's pieces as local processes: backend, static frontend, Traefik.

Each `start_*` returns a running `subprocess.Popen`; `stop` ends it. The Traefik
arguments come from the `command:` of the compose file's traefik service, with only
the listening addresses, paths and the ACME server swapped for local ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx2
import yaml

REPO = Path(__file__).resolve().parents[3]
APP = REPO / "app"
BACKEND = APP / "backend"
FRONTEND = APP / "frontend"
VENV_BIN = Path(sys.executable).parent

# Static options the test replaces; every one must exist in the compose file.
REPLACED = (
    "--entrypoints.web.address",
    "--entrypoints.websecure.address",
    "--providers.file.directory",
    "--certificatesresolvers.letsencrypt.acme.storage",
    "--certificatesresolvers.letsencrypt.acme.email",
)


@dataclass(frozen=True)
class Stack:
    """Where the running stack answers: Traefik's two entry points on loopback."""

    http_port: int
    https_port: int
    domain: str

    @property
    def base_url(self) -> str:
        return f"https://{self.domain}:{self.https_port}"


def npm(*args: str) -> subprocess.CompletedProcess[str]:
    """npm in app/frontend; its packages come from scripts/setup/app.sh."""
    if not (FRONTEND / "node_modules").is_dir():
        raise RuntimeError("app/frontend/node_modules missing: run scripts/setup/app.sh")
    argv = ["npm", *args]
    return subprocess.run(argv, cwd=FRONTEND, capture_output=True, text=True, check=False)


def compose() -> dict:
    return yaml.safe_load((APP / "docker-compose.yml").read_text())


def traefik_args(command: list[str], replacements: dict[str, str]) -> list[str]:
    """The compose command with `replacements` applied; fails on options it lacks."""
    options = dict(arg.split("=", 1) for arg in command)
    missing = set(replacements) - set(options)
    if missing:
        raise ValueError(f"traefik command lacks {sorted(missing)}")
    options.update(replacements)
    return [f"{key}={value}" for key, value in options.items()]


def client() -> httpx2.Client:
    # Traefik serves its default self-signed certificate: no ACME server is reachable here.
    return httpx2.Client(verify=False, trust_env=False, follow_redirects=False, timeout=5)


def wait_until(check: Callable[[], bool], proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {_output(proc)}")
        try:
            if check():
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"{what} did not come up: {_output(proc)}")


def _output(proc: subprocess.Popen) -> str:
    return proc.stdout.read().decode(errors="replace")[-4000:] if proc.stdout else ""


def _spawn(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        argv, cwd=cwd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout:
        proc.stdout.close()


def start_backend(database_url: str, port: int) -> subprocess.Popen:
    argv = [str(VENV_BIN / "python"), "-m", "uvicorn", "--factory", "notes_api.main:create_app"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-config", "log_config.json"]
    argv += ["--no-access-log"]
    proc = _spawn(argv, BACKEND, {"DATABASE_URL": database_url, "PYTHONPATH": str(BACKEND)})
    url = f"http://127.0.0.1:{port}/ready"
    wait_until(lambda: client().get(url).status_code == 200, proc, "backend")
    return proc


def start_static(directory: Path, port: int) -> subprocess.Popen:
    """The built frontend, as nginx serves it in the image (minus the SPA fallback)."""
    argv = [str(VENV_BIN / "python"), "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    proc = _spawn([*argv, "--directory", str(directory)], directory, {})
    url = f"http://127.0.0.1:{port}/index.html"
    wait_until(lambda: client().get(url).status_code == 200, proc, "static frontend")
    return proc


def start_traefik(args: list[str], env: dict[str, str], ready_url: str) -> subprocess.Popen:
    proc = _spawn([str(VENV_BIN / "traefik"), *args], APP, env)
    # Routes load asynchronously after the entry points open: wait for a routed answer.
    wait_until(lambda: client().get(ready_url).status_code == 200, proc, "traefik")
    return proc
