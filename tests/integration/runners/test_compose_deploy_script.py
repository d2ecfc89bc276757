"""runners/scripts/compose-deploy.sh with recording stand-ins for ``docker`` and ``aws``.

No container engine runs here, so the stand-ins record what the script asks of them (and
what ``.env`` looks like at that moment, and what ``docker login`` reads on stdin); the
health check talks to a real HTTP server, which answers like the backend, like Traefik's
redirect, or like the frontend's catch-all page.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from runners.steps.deploy import SCRIPT

pytestmark = pytest.mark.slow

DOCKER = """#!/usr/bin/env bash
# Records its arguments and the state of .env (and a login's stdin), then fails where told to.
# A login reads its stdin to the end first: the record follows the writer's own line.
if [ "$1" = login ]; then password="$(cat)"; fi
{ printf '%s\\n' "$*"
  if [ "$1" = login ]; then echo "stdin=$password"; echo "config=$DOCKER_CONFIG"; fi
  if [ -f .env ]; then echo "env-mode=$(stat -c %a .env)"; cat .env; else echo "env=absent"; fi
} >> "$RECORD"
case " $* " in *" $FAIL_ON "*) exit 7 ;; esac
exit 0
"""

AWS = """#!/usr/bin/env bash
printf '%s\\n' "aws $*" >> "$RECORD"
case "$1 $2 $4" in
  "ecr get-login-password "*) echo "ecr-pa55word" ;;
  "secretsmanager get-secret-value registry") echo '{"username": "bot", "password": "reg pa55"}' ;;
  *) echo '{"DATABASE_URL": "postgresql://app:s3cret@db/app", "ACME_EMAIL": "ops@example.com"'\
'    , "APP_DOMAIN": "app.example.com"}' ;;
esac
"""


@pytest.fixture
def host(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("docker", DOCKER), ("aws", AWS)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    app = tmp_path / "app"
    app.mkdir()
    (app / "docker-compose.yml").write_text("services: {}\n")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RECORD": str(tmp_path / "record"),
        "FAIL_ON": "never",
        "MAESTRO_HEALTH_DELAY": "0",
    }
    return app, env, tmp_path / "record"


BACKEND_BODY = b'{"service":"notes-api","status":"ok"}'


class Answers(http.server.BaseHTTPRequestHandler):
    """The backend's /api/health for Host app.example.com; ``mode`` makes it answer like
    something else on the route."""

    mode = "backend"

    def do_GET(self):
        host = self.headers.get("Host", "").split(":")[0]
        if self.mode == "redirect":  # Traefik on port 80: to HTTPS, for every request
            self.send_response(301)
            self.send_header("Location", f"https://{host}{self.path}")
            self.end_headers()
            return
        body = b"<!doctype html><title>notes</title>"  # the frontend's catch-all page
        if self.mode == "backend" and host == "app.example.com" and self.path == "/api/health":
            body = BACKEND_BODY
        elif self.mode == "backend":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("Handler", (Answers,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, f"http://127.0.0.1:{server.server_port}/api/health"
    server.shutdown()
    server.server_close()


@pytest.fixture
def healthy_url(server):
    return server[1]


def deploy(app: Path, env: dict, *extra: str) -> subprocess.CompletedProcess:
    args = ["bash", str(SCRIPT), "--app-dir", str(app), "--secret-id", "maestrops/app", *extra]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)


EXPECT = ("--health-expect", '"service":"notes-api"')


def test_success_writes_env_600_pulls_then_ups_and_removes_env(host, healthy_url):
    app, env, record = host
    for attempt in (1, 2, 3):  # a redeploy on the same host starts from what the last one left
        record.unlink(missing_ok=True)
        done = deploy(app, env, "--health-url", healthy_url, "--health-host", "app.example.com",
                      *EXPECT)  # fmt: skip
        assert done.returncode == 0, (attempt, done.stderr)
        lines = record.read_text().splitlines()
        assert lines[0] == (
            "aws secretsmanager get-secret-value --secret-id maestrops/app"
            " --query SecretString --output text"
        )
        env_file = str(app / ".env")
        assert lines[1] == f"compose -f docker-compose.yml --env-file {env_file} pull"
        assert lines[2:6] == [
            "env-mode=600",
            "DATABASE_URL=postgresql://app:s3cret@db/app",
            "ACME_EMAIL=ops@example.com",
            "APP_DOMAIN=app.example.com",
        ]
        assert lines[6] == (
            f"compose -f docker-compose.yml --env-file {env_file} up -d --remove-orphans"
        )
        assert lines[7] == "env-mode=600"
        assert "healthy after 1 tries" in done.stdout
        assert not (app / ".env").exists()


def test_health_host_defaults_to_the_secrets_app_domain(host, healthy_url):
    app, env, _ = host
    done = deploy(app, env, "--health-url", healthy_url, "--health-tries", "1", *EXPECT)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("mode", "answered"),
    [("redirect", "answered 301"), ("frontend", "answered 200"), ("backend", "answered 404")],
)
def test_a_health_url_that_is_not_the_backend_answering_fails(host, server, mode, answered):
    """Traefik's 301 (which ``curl -f`` accepted), a 200 from the frontend's catch-all page,
    and a 404 for a wrong path each fail the deploy, and .env is gone afterwards."""
    app, env, _ = host
    handler, url = server
    handler.mode = mode
    url = url.replace("/api/health", "/api/nothing") if mode == "backend" else url
    for _ in range(2):
        done = deploy(app, env, "--health-url", url, "--health-tries", "2", *EXPECT)
        assert done.returncode == 1
        assert "not healthy after 2 tries: http://app.example.com:" in done.stderr
        assert answered in done.stderr
        assert not (app / ".env").exists()


def test_bundle_puts_compose_file_and_routes_in_place(host, tmp_path):
    app, env, _ = host
    routes = app / "traefik" / "dynamic"
    routes.mkdir(parents=True)
    (routes / "old.yml").write_text("http: {}\n")
    source = tmp_path / "source"
    (source / "traefik" / "dynamic").mkdir(parents=True)
    (source / "docker-compose.yml").write_text("services: {web: {image: nginx}}\n")
    (source / "traefik" / "dynamic" / "routes.yml").write_text("http: {routers: {}}\n")
    bundle = tmp_path / "bundle.tgz"
    subprocess.run(["tar", "-czf", str(bundle), "-C", str(source), "docker-compose.yml",
                    "traefik"], check=True)  # fmt: skip
    for _ in range(2):
        done = deploy(app, env, "--bundle", str(bundle))
        assert done.returncode == 0, done.stderr
        assert (app / "docker-compose.yml").read_text() == "services: {web: {image: nginx}}\n"
        assert sorted(p.name for p in routes.iterdir()) == ["routes.yml"]


def test_ecr_login_reads_the_password_on_stdin_and_forgets_it(host):
    app, env, record = host
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    done = deploy(app, env, "--ecr-registry", registry)
    assert done.returncode == 0, done.stderr
    lines = record.read_text().splitlines()
    assert "aws ecr get-login-password --region eu-west-1" in lines
    login = lines.index(f"login --username AWS --password-stdin {registry}")
    assert lines[login + 1] == "stdin=ecr-pa55word"
    assert not any("ecr-pa55word" in line for line in lines if not line.startswith("stdin="))
    config = lines[login + 2].removeprefix("config=")
    assert config and not Path(config).exists()  # the login's folder went with the deploy
    compose = [line for line in lines if line.startswith("compose")]
    assert lines.index(compose[0]) > login


@pytest.mark.parametrize("fail_on", ["pull", "up"])
def test_env_is_removed_when_compose_fails(host, fail_on):
    app, env, record = host
    done = deploy(app, {**env, "FAIL_ON": fail_on})
    assert done.returncode == 7
    calls = [line for line in record.read_text().splitlines() if line.startswith("compose")]
    assert calls[-1].split()[5] == fail_on  # nothing ran after the failing call
    assert not (app / ".env").exists()


def test_registry_login_reads_user_and_password_from_the_registry_secret(host):
    app, env, record = host
    for _ in range(2):
        record.unlink(missing_ok=True)
        done = deploy(app, env, "--registry", "registry.example.com", "--registry-secret",
                      "registry")  # fmt: skip
        assert done.returncode == 0, done.stderr
        lines = record.read_text().splitlines()
        login = lines.index("login --username bot --password-stdin registry.example.com")
        assert lines[login + 1] == "stdin=reg pa55"
        assert not Path(lines[login + 2].removeprefix("config=")).exists()
        assert lines.index(next(li for li in lines if li.startswith("compose"))) > login


def test_a_registry_without_its_secret_is_refused(host):
    app, env, record = host
    done = deploy(app, env, "--registry", "registry.example.com")
    assert done.returncode == 64 and not record.exists()


def test_failed_health_check_fails_and_removes_env(host):
    app, env, _ = host
    done = deploy(app, env, "--health-url", "http://127.0.0.1:9/api/health", "--health-tries", "2")
    assert done.returncode == 1
    assert "not healthy after 2 tries" in done.stderr and "answered 000" in done.stderr
    assert not (app / ".env").exists()


def test_missing_arguments_are_refused(host):
    app, env, record = host
    done = subprocess.run(["bash", str(SCRIPT), "--app-dir", str(app)], env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 64 and "usage" in done.stderr
    assert not record.exists()


def test_script_is_shellcheck_clean():
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is installed by scripts/setup/runners.sh"
    done = subprocess.run([shellcheck, "--severity=style", str(SCRIPT)], capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout
