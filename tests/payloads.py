"""Real webhook payloads (tests/events/) reshaped for the scenarios of the tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).parent / "events"
REPO = "Codertocat/Hello-World"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


def push(branch: str, sha: str = "a" * 40, message: str = "change", repo: str = REPO) -> dict:
    payload = copy.deepcopy(load_event("push"))
    payload["ref"] = f"refs/heads/{branch}"
    payload["after"] = sha
    payload["created"] = False
    payload["deleted"] = False
    payload["head_commit"]["id"] = sha
    payload["head_commit"]["message"] = message
    payload["repository"]["full_name"] = repo
    return payload


def pull_request(
    action: str,
    head: str,
    base: str,
    sha: str = "b" * 40,
    number: int = 7,
    merged: bool = False,
    fork: bool = False,
    repo: str = REPO,
) -> dict:
    source = {"opened": "opened", "synchronize": "synchronize", "closed": "closed"}.get(
        action, "opened"
    )
    payload = copy.deepcopy(load_event(f"pull_request.{source}"))
    payload["action"] = action
    payload["number"] = number
    pr = payload["pull_request"]
    pr["number"] = number
    pr["head"]["ref"] = head
    pr["head"]["sha"] = sha
    pr["base"]["ref"] = base
    pr["merged"] = merged
    pr["state"] = "closed" if action == "closed" else "open"
    payload["repository"]["full_name"] = repo
    pr["base"]["repo"]["full_name"] = repo
    pr["head"]["repo"]["full_name"] = "someone/fork" if fork else repo
    return payload
