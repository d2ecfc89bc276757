"""The API contract against ``maestro serve`` itself (a subprocess on loopback, its own
durable local store): the gateway's answers in the one error format, the token first, the
CLI's exit codes and paging, ``send-webhook`` with the URL ``serve`` prints, and a short
schemathesis run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.local.aws import free_port
from chalicelib.local.payloads import push_payload
from tests.functional.api.test_fuzz import run_schemathesis
from tests.gitrepo import commit_files

SECRET = "contract-secret"
TOKEN = "contract-token"
REPO = "acme/infra"
MAESTRO = [sys.executable, "-m", "chalicelib.cli.main"]

pytestmark = pytest.mark.slow


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[dict[str, str]]:
    port = free_port()
    env = {
        **os.environ,
        "MAESTRO_WEBHOOK_SECRET": SECRET,
        "MAESTRO_API_TOKEN": TOKEN,
        "MAESTRO_ALLOWED_REPOS": "acme/*",
        "MAESTRO_REPOS_DIR": str(tmp_path / "repos"),
        "MAESTRO_RUNNER_BACKEND": "recording",
        "MAESTRO_API_URL": f"http://127.0.0.1:{port}",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*MAESTRO, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        env["WEBHOOK_URL"] = _printed_webhook_url(process, log_path)
        yield env
    finally:
        process.terminate()
        process.wait(timeout=30)


def _printed_webhook_url(process: subprocess.Popen, log: Path) -> str:
    """The webhook URL exactly as ``serve`` prints it for a newcomer to paste."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"maestro serve exited:\n{log.read_text()}")
        found = re.search(r"webhook:\s+POST (\S+)", log.read_text())
        if found:
            return found.group(1)
        time.sleep(0.2)
    pytest.fail(f"maestro serve printed no webhook URL:\n{log.read_text()}")


def http(env: dict, method: str, path: str, headers: dict, body: bytes | None = None):
    request = urllib.request.Request(
        env["MAESTRO_API_URL"] + path, data=body, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def cli(env: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MAESTRO, *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_served_api_answers_every_error_in_one_format_token_first(serve: dict) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    status, body = http(serve, "GET", "/no/such/path", bearer)
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert TOKEN not in json.dumps(body)
    status, body = http(serve, "GET", "/runs", {"Authorization": TOKEN})  # no Bearer prefix
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    plain = {"Content-Type": "text/plain"}
    status, body = http(serve, "POST", "/runs/x/retry", plain, b"x")
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    status, body = http(serve, "POST", "/runs/x/retry", {**bearer, **plain}, b"x")
    assert (status, body["error"]["code"]) == (415, "unsupported_media_type")
    status, body = http(serve, "PUT", "/runs", bearer)
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    status, body = http(serve, "GET", "/runs?cursor=e30", bearer)
    assert (status, body["error"]["code"]) == (400, "invalid_cursor")
    status, body = http(serve, "GET", "/locks?all=AAA", bearer)
    assert (status, body["error"]["code"]) == (400, "invalid_parameter")


def test_send_webhook_with_either_url_then_page_the_runs_from_the_cli(
    serve: dict, tmp_path: Path
) -> None:
    repo_dir = tmp_path / "repos" / REPO
    shas = [commit_files(repo_dir, {"main.tf": f"# {n}\n"}) for n in range(3)]
    urls = [serve["WEBHOOK_URL"], serve["MAESTRO_API_URL"], serve["WEBHOOK_URL"]]
    for number, (sha, url) in enumerate(zip(shas, urls, strict=True)):
        payload = tmp_path / f"push-{number}.json"
        payload.write_text(json.dumps(push_payload(REPO, "infra_features", sha)))
        form = ["--form"] if number == 2 else []
        sent = cli(serve, "send-webhook", "push", str(payload), "--url", url, *form)
        assert sent.returncode == 0 and sent.stdout.startswith("202"), sent.stdout + sent.stderr
    runs = _wait_for_runs(serve, 3)
    assert sorted(run["sha"] for run in runs) == sorted(shas)
    paged = cli(serve, "runs", "list", "--json", "--limit", "1")
    assert len(json.loads(paged.stdout)) == 1 and "--cursor" in paged.stderr
    assert cli(serve, "runs", "show", "run-none").returncode == 3
    assert cli(serve, "runs", "list", "--pr", "0").returncode == 2
    assert cli(serve, "--version").stdout.startswith("maestro ")


def _wait_for_runs(env: dict, expected: int) -> list[dict]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = cli(env, "runs", "list", "--json", "--all", "--limit", "1")
        assert done.returncode == 0, done.stderr
        runs = json.loads(done.stdout)
        if len(runs) >= expected:
            return runs
        time.sleep(0.3)
    pytest.fail(f"only {len(runs)} runs after 60 s")


def test_schemathesis_against_maestro_serve_finds_nothing(serve: dict, tmp_path: Path) -> None:
    done = run_schemathesis(serve["MAESTRO_API_URL"], 3, tmp_path, token=TOKEN)
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-3000:]
