"""Check the repository out at the job's sha (token auth over https; a local path locally).

Everything a repository names (config paths, committed symlinks) must resolve inside the
checkout: ``checkout`` refuses a tree with a link that leads out of it, and ``inside``
checks each path from the job on its resolved form before a step uses it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from chalicelib.jobs import ENV_GIT_TOKEN
from runners.exceptions import StepFailedError
from runners.process import ProcessRunner

__all__ = ["ENV_GIT_TOKEN", "checkout", "git_credentials", "inside", "links_leaving"]


@contextmanager
def git_credentials(
    clone_url: str, env: Mapping[str, str], folder: Path
) -> Iterator[dict[str, str]]:
    """The environment of one git call that authenticates with the job's token.

    The token goes to a 0600 file in a fresh 0700 folder under ``folder``, read by a
    credential helper that git runs itself: never in argv (``ps`` shows argv to every user),
    never in an environment variable of git or of what git starts. The folder is removed
    when the call ends, whatever its outcome. The empty first helper drops any helper the
    machine configures, so no ``store`` helper writes the token to disk.
    """
    token = env.get(ENV_GIT_TOKEN)
    quiet = {"GIT_TERMINAL_PROMPT": "0"}
    if not token or not clone_url.startswith("https://"):
        yield quiet
        return
    folder.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="git-credentials-", dir=folder))
    try:
        path = private / "token"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token)
        helper = (
            '!f() { test "$1" = get || return 0; echo username=x-access-token; '
            f"printf 'password=%s\\n' \"$(cat {shlex.quote(str(path))})\"; }}; f"
        )
        yield {
            **quiet,
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": "",
            "GIT_CONFIG_KEY_1": "credential.helper",
            "GIT_CONFIG_VALUE_1": helper,
        }
    finally:
        shutil.rmtree(private, ignore_errors=True)


def checkout(clone_url: str, sha: str, dest: Path, runner: ProcessRunner) -> Path:
    """Clone ``clone_url`` into ``dest`` and check out ``sha`` (detached)."""
    steps = [
        ("clone", ["git", "clone", "--quiet", "--no-checkout", clone_url, str(dest)]),
        ("checkout", ["git", "-C", str(dest), "-c", "advice.detachedHead=false", "checkout",
                      "-q", sha]),
    ]  # fmt: skip
    for what, args in steps:
        # The token file lives beside the checkout, never inside it, and only during the call.
        with git_credentials(clone_url, runner.env, dest.parent / "credentials") as env:
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
