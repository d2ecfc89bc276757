"""Plays the seed's flow in local mode, plus a hostile PR, for the canary test.

Run as ``python -m tests.integration.security.canary_flow <data_dir>`` with the canaries in
the environment (``TF_VAR_db_password`` among them). The sample repository of ``maestro
demo`` gets a stack file with a sensitive variable, a resource holding it and a sensitive
output; a second PR's Terraform reads every environment block it can reach and puts it,
base64-encoded, into ``for_each`` keys, resource values and an output.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from chalicelib.cli.demo import (
    DEMO_REPO,
    NULL_STACK,
    FlowPlayer,
    build_sample_repository,
)
from chalicelib.local.aws import free_port
from chalicelib.local.controller import LocalController
from chalicelib.local.payloads import pull_request_payload
from tests.gitrepo import git
from tests.integration.security.test_runner_environment import HOSTILE_TF

SENSITIVE_TF = """
variable "db_password" {
  type      = string
  sensitive = true
}

resource "null_resource" "db" {
  triggers = {
    password = var.db_password
  }
}

output "db_dsn" {
  value     = "postgres://app:${var.db_password}@db:5432/orders"
  sensitive = true
}
"""
# The exfiltration of test_runner_environment, as for_each keys too (an address is not masked
# like a value): chunks of the encoded environment become resource names.
HOSTILE_KEYS_TF = """
resource "null_resource" "keys" {
  for_each = toset([for i in range(0, length(local.self_env), 64) : substr(local.self_env, i, 64)])
  triggers = { chunk = each.key }
}
"""


def prepare(repo_dir: Path) -> dict[str, str]:
    shas = build_sample_repository(repo_dir)
    git(repo_dir, "checkout", "-q", "infra_features")
    (repo_dir / NULL_STACK / "canary.tf").write_text(SENSITIVE_TF)
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-q", "-m", "infra: a database password")
    shas["infra"] = git(repo_dir, "rev-parse", "HEAD")
    git(repo_dir, "checkout", "-q", "-b", "hostile", "infra_main")
    # A stack of its own (the real one's resources would wait for the lock of PR 1).
    hostile = repo_dir / NULL_STACK / "hostile.tf"
    hostile.write_text(_hostile_stack())
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-q", "-m", "infra: nothing to see")
    shas["hostile"] = git(repo_dir, "rev-parse", "HEAD")
    git(repo_dir, "checkout", "-q", "main")
    return shas


def _hostile_stack() -> str:
    """HOSTILE_TF without its ``terraform`` block (the stack has one) plus the keyed chunks."""
    body = HOSTILE_TF[HOSTILE_TF.index("locals {") :]
    return body + HOSTILE_KEYS_TF


def main(data_dir: Path) -> None:
    repo_dir = data_dir / "repos" / DEMO_REPO
    shas = prepare(repo_dir)
    os.environ["MAESTRO_REPOS_DIR"] = str(data_dir / "repos")
    controller = LocalController(port=free_port(), data_dir=data_dir).start()
    try:
        player = FlowPlayer(controller.url, controller.webhook_secret, controller.api_token)
        player.play(shas, repo_dir)
        count = len(player.client.list_runs(limit=100)["runs"])
        # A new PR from the feature branch (the allowed edge), its head the hostile commit.
        hostile = pull_request_payload(
            DEMO_REPO, "opened", 3, "infra_features", "infra_main", shas["hostile"]
        )
        player.send("pull_request", hostile)
        player.wait_for(count + 1)
        runs = player.client.list_runs(limit=100)["runs"]
        (data_dir / "runs.json").write_text(json.dumps(runs, indent=2))
        for run in runs:  # every answer the runs API gives is scanned too
            (data_dir / f"api-{run['id']}.json").write_text(
                json.dumps(player.client.get_run(run["id"]))
            )
    finally:
        controller.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
