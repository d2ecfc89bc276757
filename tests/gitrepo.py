"""Throwaway git repositories for tests and local mode."""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "MaestrOps Tests",
    "GIT_AUTHOR_EMAIL": "tests@maestrops.invalid",
    "GIT_COMMITTER_NAME": "MaestrOps Tests",
    "GIT_COMMITTER_EMAIL": "tests@maestrops.invalid",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=GIT_ENV
    )
    return result.stdout.strip()


def commit_files(repo: Path, files: dict[str, str], message: str = "change") -> str:
    """Write ``files`` into ``repo`` (created if needed), commit, return the new sha."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "-q", "-b", "main")
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")
