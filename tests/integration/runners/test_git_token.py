"""The runner's Git token against a private repository over real HTTPS (git http-backend
behind a TLS server on loopback that demands the token, as GitHub does).

The runner clones with the token, ci-application's rewrite pushes its commit back with it,
and the token is never in a command line, a step log, a tool's environment or a file left
behind. Without the token the clone fails: the repository is private.
"""

from __future__ import annotations

import base64
import http.server
import os
import shutil
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from tests.tls import make_certificate

from .conftest import FIXTURES, git

pytestmark = pytest.mark.slow

TOKEN = "ghs_runnerT0kenScopedToOneRepo"
BACKEND = "/usr/lib/git-core/git-http-backend"


class GitServer:
    """Smart HTTP git over TLS; every request must carry Basic x-access-token:TOKEN."""

    def __init__(self, root: Path, cert: Path, key: Path) -> None:
        self.root = root
        self.seen: list[str] = []  # "METHOD path -> status"
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self) -> None:
                expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    outer.seen.append(f"{self.command} {self.path} -> 401")
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                env = {
                    "PATH": os.environ["PATH"],
                    "GIT_PROJECT_ROOT": str(outer.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "REQUEST_METHOD": self.command,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "REMOTE_USER": "x-access-token",
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                }
                done = subprocess.run([BACKEND], input=body, env=env, capture_output=True)
                head, _, payload = done.stdout.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode().split("\r\n"):
                    name, _, value = line.partition(": ")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value))
                outer.seen.append(f"{self.command} {path} -> {status}")
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, repo: str) -> str:
        return f"https://127.0.0.1:{self.server.server_port}/{repo}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def private_origin(bench, tmp_path):
    if not Path(BACKEND).exists():
        pytest.fail("git-http-backend is part of Debian's git package")
    bench.commit("images", "app")
    shutil.copy(
        FIXTURES / "compose" / "app-docker-compose.yml", bench.repo / "app" / "docker-compose.yml"
    )
    sha = bench.write_and_commit("app/.keep", "")
    git(bench.repo, "branch", "-M", "integration")
    root = tmp_path / "served"
    root.mkdir()
    git(root, "clone", "-q", "--bare", str(bench.repo), str(root / "acme" / "shop.git"))
    git(root / "acme" / "shop.git", "config", "http.receivepack", "true")
    cert, key = make_certificate(tmp_path)
    server = GitServer(root, cert, key)
    # The operator's way to give tools a setting (MAESTRO_TOOL_ENV): git trusts this CA.
    bench.env.update({"GIT_SSL_CAINFO": str(cert), "MAESTRO_TOOL_ENV": "GIT_SSL_CAINFO"})
    bench.env.pop("MAESTRO_GIT_TOKEN", None)
    yield server, sha, root / "acme" / "shop.git"
    server.stop()


def rewrite_job(bench, server, sha, run_id):
    steps = [("compose", "compose_rewrite", {
        "compose_file": "docker-compose.yml",
        "images": {"maestrops/backend": f"registry.example.com/maestrops/backend:{run_id}"},
    })]  # fmt: skip
    return bench.job(
        run_id, sha, steps, pipeline="ci-application", clone_url=server.url("acme/shop.git"),
        branch="integration", working_dir="app", repo="acme/shop",
    )  # fmt: skip


def test_clone_and_push_back_with_the_token_and_leave_no_trace(bench, private_origin):
    server, sha, origin = private_origin
    bench.env["MAESTRO_GIT_TOKEN"] = TOKEN
    for run in (1, 2, 3):  # each push builds on the last: the same branch, the same origin
        run_id = f"ci-{run}"
        head = git(origin, "rev-parse", "integration")
        assert bench.run(rewrite_job(bench, server, head, run_id)) == 0, bench.steps_of(run_id)
        assert git(origin, "log", "-1", "--format=%s", "integration").endswith("[maestro-bot]")
        compose = git(origin, "show", "integration:app/docker-compose.yml")
        assert f"image: registry.example.com/maestrops/backend:{run_id}\n" in compose

        scratch = bench.root / f"scratch-{run_id}"
        assert list((scratch / "credentials").iterdir()) == []  # token files gone
        logs = "".join(p.read_text() for p in (scratch / "logs").glob("*.log"))
        assert "$ git clone" in logs and "$ git -C" in logs and "push" in logs
        assert TOKEN not in logs
        for path in scratch.rglob("*"):
            if path.is_file() and ".git/objects" not in str(path):
                assert TOKEN.encode() not in path.read_bytes(), path
        assert TOKEN not in (scratch / "repo" / ".git" / "config").read_text()
    assert any(
        line.startswith("POST /acme/shop.git/git-receive-pack -> 200") for line in server.seen
    )
    assert sha != git(origin, "rev-parse", "integration")


def test_without_the_token_the_private_repository_cannot_be_cloned(bench, private_origin):
    server, sha, _ = private_origin
    assert bench.run(rewrite_job(bench, server, sha, "ci-anon")) == 1
    assert "git clone failed" in (bench.finished("ci-anon")["reason"] or "")
    assert all(line.endswith("-> 401") for line in server.seen)


def test_tools_never_see_the_token(bench, private_origin, tmp_path):
    """git itself sees the token neither in argv nor in its environment (the credential
    helper reads the file); like every tool it gets the allow-listed environment, without
    the runner's token variable and with the operator-listed GIT_SSL_CAINFO."""
    server, sha, _ = private_origin
    bench.env["MAESTRO_GIT_TOKEN"] = TOKEN
    spy = tmp_path / "spy-bin"
    spy.mkdir()
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True)
    seen = tmp_path / "git-env"
    (spy / "git").write_text(
        f'#!/bin/sh\nenv >> "{seen}"\nprintf "%s\\n" "$*" >> "{seen}.argv"\n'
        f'exec {real.stdout.strip()} "$@"\n'
    )
    (spy / "git").chmod(0o755)
    bench.env["PATH"] = f"{spy}{os.pathsep}{bench.env['PATH']}"
    assert bench.run(rewrite_job(bench, server, sha, "ci-spy")) == 0
    environment, argv = seen.read_text(), Path(f"{seen}.argv").read_text()
    assert TOKEN not in environment and TOKEN not in argv
    assert "MAESTRO_GIT_TOKEN" not in environment and "GIT_SSL_CAINFO=" in environment
