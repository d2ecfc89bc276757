"""Fixtures for the app's integration tests: the built frontend and the running stack."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # --import-mode=importlib: make the sibling helper importable

import notes_stack as stack  # noqa: E402


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pgcluster = _load("notes_pgcluster", stack.BACKEND / "tests" / "pgcluster.py")


@pytest.fixture(scope="session")
def frontend_dist() -> Iterator[Path]:
    """The production build (type check + vite build), into a temp dir, once."""
    with tempfile.TemporaryDirectory(prefix="notes-dist-") as out:
        result = stack.npm("run", "build", "--", "--outDir", out, "--emptyOutDir")
        assert result.returncode == 0, result.stdout + result.stderr
        yield Path(out)


@pytest.fixture(scope="session")
def app_stack(
    frontend_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[stack.Stack]:
    """PostgreSQL, uvicorn, the built frontend and Traefik, all on loopback."""
    ports = [pgcluster.free_port() for _ in range(5)]
    backend_port, static_port, http_port, https_port, ping_port = ports
    site = stack.Stack(http_port=http_port, https_port=https_port, domain="localhost")
    with pgcluster.running_cluster() as cluster:
        procs = [stack.start_backend(cluster.url, backend_port)]
        try:
            procs.append(stack.start_static(frontend_dist, static_port))
            args = _traefik_args(site, ping_port, tmp_path_factory.mktemp("traefik"))
            env = {
                "APP_DOMAIN": site.domain,
                "BACKEND_URL": f"http://127.0.0.1:{backend_port}",
                "FRONTEND_URL": f"http://127.0.0.1:{static_port}",
            }
            procs.append(stack.start_traefik(args, env, f"{site.base_url}/api/notes"))
            yield site
        finally:
            for proc in reversed(procs):
                stack.stop(proc)


def _traefik_args(site: stack.Stack, ping_port: int, workdir: Path) -> list[str]:
    command = stack.compose()["services"]["traefik"]["command"]
    closed_port = pgcluster.free_port()  # nothing listens: ACME fails fast, on loopback
    args = stack.traefik_args(
        command,
        {
            "--entrypoints.web.address": f"127.0.0.1:{site.http_port}",
            "--entrypoints.websecure.address": f"127.0.0.1:{site.https_port}",
            "--providers.file.directory": str(stack.APP / "traefik" / "dynamic"),
            "--certificatesresolvers.letsencrypt.acme.storage": str(workdir / "acme.json"),
            "--certificatesresolvers.letsencrypt.acme.email": "ops@example.com",
        },
    )
    return [
        *args,
        f"--entrypoints.traefik.address=127.0.0.1:{ping_port}",
        f"--certificatesresolvers.letsencrypt.acme.caserver=https://127.0.0.1:{closed_port}/dir",
    ]
