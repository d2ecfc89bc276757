"""``maestro serve`` in a subprocess for the local-mode tests: start, wait until up, stop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chalicelib.local.aws import free_port

MAESTRO = [sys.executable, "-m", "chalicelib.cli.main"]


def local_runner_settings(root: Path, secret: str, token: str) -> dict[str, str]:
    """Settings of a ``maestro serve`` whose runs execute for real on the local runner, for
    ``acme/*``, with Terraform kept off the network (the null provider comes from the project's
    own installation)."""
    cli_config = root / "terraformrc"
    cli_config.write_text("# no provider installation from the network\n")
    return {
        "MAESTRO_WEBHOOK_SECRET": secret,
        "MAESTRO_API_TOKEN": token,
        "MAESTRO_ALLOWED_REPOS": "acme/*",
        "MAESTRO_RUNNER_BACKEND": "local",
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "CHECKPOINT_DISABLE": "1",
        "XDG_CACHE_HOME": str(root / "cache"),
    }


@contextmanager
def running_serve(
    tmp_path: Path, settings: dict[str, str], stop_timeout: float = 30
) -> Iterator[dict[str, str]]:
    """A ``maestro serve`` with ``settings`` on a free port; yields its environment.

    ``MAESTRO_API_URL`` in the yielded environment points at it, so the CLI reaches it too.
    """
    port = free_port()
    env = {
        **os.environ,
        "MAESTRO_REPOS_DIR": str(tmp_path / "repos"),
        "MAESTRO_API_URL": f"http://127.0.0.1:{port}",
        **settings,
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
            wait_until_up(env["MAESTRO_API_URL"], process, log_path)
            yield env
        finally:
            process.terminate()
            process.wait(timeout=stop_timeout)


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"maestro serve exited:\n{log.read_text()}")
        try:
            urllib.request.urlopen(f"{url}/runs/none", timeout=1)
        except urllib.error.HTTPError:
            return  # it answers (401/404): up
        except OSError:
            time.sleep(0.2)
    pytest.fail("maestro serve did not come up within 60 s")
