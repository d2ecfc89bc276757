"""Check the repository out at the job's sha (token auth over https; a local path locally).

Everything a repository names (config paths, committed symlinks) must resolve inside the
checkout: ``checkout`` refuses a tree with a link that leads out of it, and ``inside``
checks each path from the job on its resolved form before a step uses it.
"""

from __future__ import annotations

import base64
import os
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
    leaving = links_leaving(dest)
    if leaving:
        shown = ", ".join(leaving[:5]) + (
            f" and {len(leaving) - 5} more" if len(leaving) > 5 else ""
        )
        raise StepFailedError(f"the repository has symlinks leading outside it: {shown}", 1)
    return dest


def links_leaving(root: Path) -> list[str]:
    """Symlinks under ``root`` (``.git`` aside) whose target resolves outside ``root``.

    A dangling link counts by where it would point: a step could create its target.
    """
    base = root.resolve()
    found = []
    for folder, dirs, files in os.walk(base, followlinks=False):
        if Path(folder) == base and ".git" in dirs:
            dirs.remove(".git")
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_symlink() and not path.resolve().is_relative_to(base):
                found.append(str(path.relative_to(base)))
    return sorted(found)


def inside(root: Path, relative: str | os.PathLike[str], what: str) -> Path:
    """``root / relative`` with every link followed, refused unless it stays in ``root``.

    >>> inside(Path("/tmp"), "x/../y", "dir")
    PosixPath('/tmp/y')
    """
    given = os.fspath(relative)
    if not given or "\x00" in given or Path(given).is_absolute():
        raise StepFailedError(f"{what} {given!r} is not a path relative to the checkout", 1)
    base = root.resolve()
    path = (base / given).resolve()
    if not path.is_relative_to(base):
        raise StepFailedError(f"{what} {given!r} resolves outside the checkout", 1)
    return path
