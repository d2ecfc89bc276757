"""Webhook payloads as GitHub shapes them (the fields MaestrOps reads, and a few more).

Local mode and the demo use these to play events against a repository on disk.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def _repository(repo: str, clone_url: str | None) -> dict[str, Any]:
    owner = repo.split("/")[0]
    return {
        "full_name": repo,
        "name": repo.split("/")[-1],
        "owner": {"login": owner},
        "clone_url": clone_url or f"https://github.com/{repo}.git",
        "fork": False,
        "default_branch": "main",
    }


def push_payload(
    repo: str, branch: str, sha: str, message: str = "change", before: str = "0" * 40
) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "ref": f"refs/heads/{branch}",
        "before": before,
        "after": sha,
        "created": False,
        "deleted": False,
        "repository": _repository(repo, None),
        "sender": {"login": "maestro-demo"},
        "head_commit": {"id": sha, "message": message, "timestamp": now},
    }


def pull_request_payload(
    repo: str,
    action: str,
    number: int,
    head: str,
    base: str,
    sha: str,
    merged: bool = False,
    base_sha: str = "0" * 40,
) -> dict[str, Any]:
    repository = _repository(repo, None)
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "state": "closed" if action == "closed" else "open",
            "merged": merged,
            "merge_commit_sha": sha if merged else None,
            "head": {"ref": head, "sha": sha, "repo": {"full_name": repo}},
            "base": {"ref": base, "sha": base_sha, "repo": {"full_name": repo}},
            "updated_at": datetime.now(UTC).isoformat(),
            "user": {"login": "maestro-demo"},
        },
        "repository": repository,
        "sender": {"login": "maestro-demo"},
    }
