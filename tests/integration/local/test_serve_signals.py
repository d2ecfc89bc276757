"""``maestro serve`` in a subprocess, stopped by real signals.

- SIGTERM and Ctrl-C (SIGINT) end every child: the runner (in a session of its own) with
  its Terraform, and ``docker-registry``; started again on the same data dir, the run, its
  number and its delivery record are still there.
- Killed outright (SIGKILL, nothing cleaned up), a runner it started carries on, finishes
  while the controller is down, and its result is recorded when ``maestro serve`` returns.

Terraform is the real one behind a gate script: the runner blocks in its first Terraform
call until the test opens the gate (or forever), so a runner is surely alive at the signal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.cli.main import post_webhook
from chalicelib.event_types import DETAIL_RUN_FINISHED
from chalicelib.local.aws import free_port
from chalicelib.local.payloads import push_payload
from chalicelib.local.processes import alive, descendants
from tests.gitrepo import commit_files

SECRET = "signals-secret"
TOKEN = "signals-token"
REPO = "acme/infra"
MAESTRO = [sys.executable, "-m", "chalicelib.cli.main"]
TERRAFORM = Path(sys.executable).with_name("terraform")


class Serve:
    """``maestro serve`` on ``data_dir``; ``env`` as the test set it up."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.url = env["MAESTRO_API_URL"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Serve:
        log = (self.tmp_path / "serve.log").open("a")
        self.process = subprocess.Popen(
            [*MAESTRO, "serve", "--port", self.url.rsplit(":", 1)[1], "--data-dir",
             str(self.tmp_path / "data")],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.tmp_path / "serve.log").read_text()
            try:
                urllib.request.urlopen(f"{self.url}/runs/none", timeout=1)
            except urllib.error.HTTPError:
                return self  # it answers: up
            except OSError:
                time.sleep(0.2)
        pytest.fail("maestro serve did not come up")

    def send_push(self, sha: str, delivery: str) -> int:
        body = json.dumps(push_payload(REPO, "infra_features", sha)).encode()
        return post_webhook(self.url, "push", body, SECRET, delivery)[0]

    def runs(self) -> list[dict]:
        request = urllib.request.Request(
            f"{self.url}/runs?limit=100", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return list(json.loads(response.read())["runs"])

    def wait_for_run(self, delivery: str, statuses: set[str] | None = None) -> dict:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for run in self.runs():
                if run["delivery_id"] == delivery and (
                    statuses is None or run["status"] in statuses
                ):
                    return run
            time.sleep(0.2)
        pytest.fail(f"no run for {delivery} in {statuses}: {self.runs()}")

    def stop(self, signum: int) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        return self.process.wait(timeout=60)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Serve, list[str], Path]]:
    """A serve (not started), two commits, and the gate file that lets Terraform run."""
    gate = tmp_path / "gate-open"
    script = tmp_path / "terraform-gate"
    script.write_text(
        "#!/bin/sh\n"
        f"echo $$ >> '{tmp_path / 'terraform.pids'}'\n"
        f"while [ ! -e '{gate}' ]; do sleep 0.1; done\n"
        f"exec '{TERRAFORM}' \"$@\"\n"
    )
    script.chmod(0o755)
    (tmp_path / "terraformrc").write_text("")
    port = free_port()
    env = {
        **os.environ,
        "MAESTRO_WEBHOOK_SECRET": SECRET,
        "MAESTRO_API_TOKEN": TOKEN,
        "MAESTRO_ALLOWED_REPOS": "acme/*",
        "MAESTRO_REPOS_DIR": str(tmp_path / "repos"),
        "MAESTRO_RUNNER_BACKEND": "local",
        "MAESTRO_API_URL": f"http://127.0.0.1:{port}",
        "MAESTRO_TERRAFORM": str(script),
        "TF_CLI_CONFIG_FILE": str(tmp_path / "terraformrc"),
    }
    repo_dir = tmp_path / "repos" / REPO
    shas = [
        commit_files(repo_dir, {"terraform/infra/main.tf": f'locals {{ n = "{n}" }}\n'})
        for n in range(3)
    ]
    serve = Serve(tmp_path, env)
    yield serve, shas, gate
    gate.touch()  # whatever still waits at the gate may finish
    if serve.process is not None and serve.process.poll() is None:
        serve.stop(signal.SIGTERM)


def wait_for_gate(tmp_path: Path) -> int:
    pids = tmp_path / "terraform.pids"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if pids.exists() and pids.read_text().strip():
            return int(pids.read_text().split()[0])
        time.sleep(0.1)
    pytest.fail(f"the runner never called Terraform:\n{(tmp_path / 'serve.log').read_text()}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_ends_every_child_and_a_restart_finds_the_runs(setup, tmp_path, signum) -> None:
    serve, shas, _ = setup
    serve.start()
    assert serve.send_push(shas[0], "s1") == 202
    terraform = wait_for_gate(tmp_path)  # the runner is in its first Terraform call
    family = descendants(serve.process.pid)
    runner = [pid for pid in family if b"runners" in _cmdline(pid)]
    assert runner and terraform in family
    run = serve.wait_for_run("s1")

    assert serve.stop(signum) in (0, 128 + signum, 1)
    still = [pid for pid in family if alive(pid)]
    assert still == [], [_cmdline(pid) for pid in still]

    serve.start()
    assert [r["id"] for r in serve.runs()] == [run["id"]]
    assert serve.send_push(shas[0], "s1") == 200  # its delivery is remembered
    assert serve.send_push(shas[1], "s2") == 202
    assert serve.wait_for_run("s2")["run_number"] == 2
    assert len(serve.runs()) == 2


def test_a_runner_that_finishes_while_the_controller_is_down_is_recorded(setup, tmp_path) -> None:
    serve, shas, gate = setup
    serve.start()
    assert serve.send_push(shas[0], "k1") == 202
    wait_for_gate(tmp_path)
    family = descendants(serve.process.pid)
    run = serve.wait_for_run("k1")
    runner = [pid for pid in family if b"runners" in _cmdline(pid)]
    registry = [pid for pid in family if b"docker-registry" in _cmdline(pid)]
    assert serve.stop(signal.SIGKILL) == -signal.SIGKILL  # no cleanup at all
    try:
        assert runner and all(alive(pid) for pid in runner)  # a session of its own: it goes on
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in registry) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in registry)  # ends with its parent, even killed
        gate.touch()  # the orphaned runner goes on: fmt, init, validate, then reports
        finished = tmp_path / "data" / "events" / run["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _finished(finished):
            time.sleep(0.2)
        assert _finished(finished), (tmp_path / "data" / "jobs" / f"{run['id']}.log").read_text()
    finally:
        for pid in family:  # whatever SIGKILL may have left
            if alive(pid):
                os.kill(pid, signal.SIGTERM)

    serve.start()
    recorded = serve.wait_for_run("k1", {"succeeded", "failed"})
    assert recorded["status"] == "succeeded", recorded
    assert recorded["run_number"] == 1 and len(serve.runs()) == 1


def _finished(run_dir: Path) -> bool:
    for path in run_dir.glob("*.json"):
        if json.loads(path.read_text()).get("detail-type") == DETAIL_RUN_FINISHED:
            return True
    return False


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""  # gone already
