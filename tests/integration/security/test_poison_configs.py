"""A hostile ``.gitops.yml`` through the real dispatcher (moto, the local Git host): a failed
run naming the problem and a failure status, never a crash retried into the dead-letter queue."""

from __future__ import annotations

import json

import pytest

from chalicelib.events.trigger import trigger_from_payload
from tests.functional.conftest import Controller, aws_env, controller
from tests.gitrepo import commit_files, git
from tests.payloads import push

__all__ = ["aws_env", "controller"]  # the functional tests' fixtures, used here

ALIAS_BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
)
POISON = {
    "deep": ("a: " + "[" * 100_000 + "]" * 100_000).encode(),
    "latin-1": b"terraform: {dir: caf\xe9}\n",
    "huge": b"# " + b"x" * (1024 * 1024) + b"\n",
    "alias-bomb": ALIAS_BOMB.encode(),
    "absolute-dir": b"terraform: {dir: /etc}\n",
    "workspace-escape": b"terraform: {workspace: ../../x/pwn}\n",
}
EXPECTED = {
    "deep": "nested deeper than",
    "latin-1": "not UTF-8 text",
    "huge": "the limit is 262144 bytes",
    "alias-bomb": "aliases are expanded",
    "absolute-dir": "terraform.dir",
    "workspace-escape": "terraform.workspace",
}


@pytest.mark.parametrize("name", sorted(POISON))
def test_a_poison_config_is_a_failed_run_with_a_status(controller: Controller, name: str) -> None:
    commit_files(controller.repo_dir, {"README.md": "hi\n"})
    (controller.repo_dir / ".gitops.yml").write_bytes(POISON[name])
    git(controller.repo_dir, "add", "-A")
    git(controller.repo_dir, "commit", "-q", "-m", name)
    sha = git(controller.repo_dir, "rev-parse", "HEAD")
    body = json.dumps(push("infra_features", sha)).encode()
    trigger = trigger_from_payload("push", f"d-{name}", body)
    # What dispatch_events does with the message: an exception here would retry it to the DLQ.
    [run] = controller.services.dispatcher.process(trigger)
    assert run.status == "failed" and EXPECTED[name] in (run.error or "")
    assert controller.backend.jobs == []
    statuses = [r for r in controller.outbox_records() if r["kind"] == "status"]
    assert statuses and statuses[-1]["state"] in ("failure", "error") and statuses[-1]["sha"] == sha
