"""runners/scripts/compose-deploy.sh with recording stand-ins for ``docker`` and ``aws``.

No container engine runs here, so the stand-ins record what the script asks of them (and
what ``.env`` looks like at that moment); the health check talks to a real HTTP server.
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
# Records its arguments and the state of .env, then fails where told to.
{ printf '%s\\n' "$*"
  if [ -f .env ]; then echo "env-mode=$(stat -c %a .env)"; cat .env; else echo "env=absent"; fi
} >> "$RECORD"
case " $* " in *" $FAIL_ON "*) exit 7 ;; esac
exit 0
"""

AWS = """#!/usr/bin/env bash
printf '%s\\n' "aws $*" >> "$RECORD"
echo '{"DATABASE_URL": "postgresql://app:s3cret@db/app", "ACME_EMAIL": "ops@example.com"}'
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


@pytest.fixture
def healthy_url():
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code = 200 if self.headers.get("Host") == "app.example.com" else 404
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api/health"
    server.shutdown()


def deploy(app: Path, env: dict, *extra: str) -> subprocess.CompletedProcess:
    args = ["bash", str(SCRIPT), "--app-dir", str(app), "--secret-id", "maestrops/app", *extra]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)


def test_success_writes_env_600_pulls_then_ups_and_removes_env(host, healthy_url):
    app, env, record = host
    done = deploy(app, env, "--health-url", healthy_url, "--health-host", "app.example.com")
    assert done.returncode == 0, done.stderr
    lines = record.read_text().splitlines()
    assert lines[0] == (
        "aws secretsmanager get-secret-value --secret-id maestrops/app"
        " --query SecretString --output text"
    )
    env_file = str(app / ".env")
    assert lines[1] == f"compose -f docker-compose.yml --env-file {env_file} pull"
    assert lines[2:5] == [
        "env-mode=600",
        "DATABASE_URL=postgresql://app:s3cret@db/app",
        "ACME_EMAIL=ops@example.com",
    ]
    assert lines[5] == f"compose -f docker-compose.yml --env-file {env_file} up -d --remove-orphans"
    assert lines[6] == "env-mode=600"
    assert "healthy after 1 tries" in done.stdout
    assert not (app / ".env").exists()


@pytest.mark.parametrize("fail_on", ["pull", "up"])
def test_env_is_removed_when_compose_fails(host, fail_on):
    app, env, record = host
    done = deploy(app, {**env, "FAIL_ON": fail_on})
    assert done.returncode == 7
    calls = [line for line in record.read_text().splitlines() if line.startswith("compose")]
    assert calls[-1].split()[5] == fail_on  # nothing ran after the failing call
    assert not (app / ".env").exists()


def test_failed_health_check_fails_and_removes_env(host):
    app, env, _ = host
    done = deploy(app, env, "--health-url", "http://127.0.0.1:9/health", "--health-tries", "2")
    assert done.returncode == 1
    assert "not healthy after 2 tries" in done.stderr
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
