"""Check the repository out at the job's sha (token auth over https; a local path locally)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path

from runners.exceptions import StepFailedError
from runners.process import ProcessRunner

ENV_GIT_TOKEN = "MAESTRO_GIT_TOKEN"


def auth_env(clone_url: str, env: Mapping[str, str]) -> dict[str, str]:
    """Git configuration through the environment, so the token never appears in argv or logs."""
    token = env.get(ENV_GIT_TOKEN)
    if not token or not clone_url.startswith("https://"):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        "GIT_TERMINAL_PROMPT": "0",
    }


def checkout(clone_url: str, sha: str, dest: Path, runner: ProcessRunner) -> Path:
    """Clone ``clone_url`` into ``dest`` and check out ``sha`` (detached)."""
    env = auth_env(clone_url, runner.env)
    steps = [
        ("clone", ["git", "clone", "--quiet", "--no-checkout", clone_url, str(dest)]),
        ("checkout", ["git", "-C", str(dest), "-c", "advice.detachedHead=false", "checkout",
                      "-q", sha]),
    ]  # fmt: skip
    for what, args in steps:
        done = runner.run(args, env=env)
        if done.returncode != 0:
            raise StepFailedError(f"git {what} failed: {done.tail.strip()[-300:]}", 1)
    return dest
