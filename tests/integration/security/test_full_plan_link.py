"""The plan comment's "full plan" link never leads to the raw plan JSON.

Real Terraform plans a stack with a ``sensitive`` variable, a resource holding it and a
sensitive output. The raw ``terraform show -json`` output carries the value in clear (the test
proves it can see it); what the link points to, the redacted rendering the runner stores,
holds it in no form, and the controller presigns nothing else.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from chalicelib.feedback.publish import run_feedback
from chalicelib.runs.model import Run, RunStatus
from tests.integration.security.tree import find_secrets

pytestmark = pytest.mark.slow

SENSITIVE_TF = """
terraform {
  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "2.1.2"
    }
  }
}

variable "db_password" {
  type      = string
  sensitive = true
}

resource "null_resource" "db" {
  triggers = {
    password = var.db_password
    name     = "orders"
  }
}

output "dsn" {
  value     = "postgres://app:${var.db_password}@db:5432/orders"
  sensitive = true
}
"""


def plan_artifacts(world, canary: str) -> dict[str, str]:
    sha = world.commit({"terraform/infra/main.tf": SENSITIVE_TF})
    job = world.job(sha, [("init", "terraform_init", {}), ("plan", "terraform_plan", {})])
    world.env["TF_VAR_db_password"] = canary
    world.run(job)
    assert world.finished()["status"] == "succeeded", world.reason()
    return dict(world.finished()["artifacts"])


def test_the_linked_full_plan_is_redacted_and_the_raw_plan_is_never_linked(world) -> None:
    canary = f"canary-db-{secrets.token_hex(12)}"
    artifacts = plan_artifacts(world, canary)
    folder = world.run_dir / "artifacts"
    raw = folder / "plan.json"
    assert canary in raw.read_text(), "the raw plan holds the value: the scan can see it"
    redacted = Path(artifacts["plan_redacted"].removeprefix("file://"))
    text = redacted.read_text()
    assert "+ null_resource.db will be created" in text and "(sensitive value)" in text
    assert find_secrets(redacted.parent, {"db": canary}) == [f"plan.json: db ({canary[:12]}…)"]

    presigned: list[str] = []

    def presign(uri: str) -> str:
        presigned.append(uri)
        return f"https://bucket.example/{Path(uri).name}?X-Amz-Signature=x"

    run = Run(
        id="run-1", repo="acme/infra", pipeline="terraform-plan", sha="a" * 40, pr=7,
        status=RunStatus.SUCCEEDED, artifacts=artifacts,
    )  # fmt: skip
    feedback = run_feedback(run, "https://runs.example/run-1", lambda uri: _read(uri), presign)
    assert presigned == [artifacts["plan_redacted"]]
    assert "[full plan](https://bucket.example/plan-redacted.txt" in feedback.comments[0]
    assert all(canary not in body for body in feedback.comments)


def test_a_run_without_a_redacted_plan_links_none(world) -> None:
    run = Run(
        id="run-1", repo="acme/infra", pipeline="terraform-plan", sha="a" * 40, pr=7,
        status=RunStatus.FAILED, artifacts={"plan_json": "s3://bucket/runs/run-1/plan.json"},
    )  # fmt: skip
    presigned: list[str] = []
    feedback = run_feedback(run, "u", lambda uri: None, lambda uri: presigned.append(uri) or "x")
    assert presigned == [] and all("full plan](" not in body for body in feedback.comments)


def _read(uri: str) -> bytes | None:
    path = Path(uri.removeprefix("file://"))
    return path.read_bytes() if path.is_file() else None


def test_the_redacted_rendering_masks_encoded_forms_too() -> None:
    from chalicelib.feedback.full_plan import redacted_full_plan

    canary = f"canary-{secrets.token_hex(12)}"
    import base64

    encoded = base64.b64encode(canary.encode()).decode()
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": f'null_resource.x["{encoded}"]',
                "mode": "managed", "type": "null_resource", "name": "x",
                "index": encoded, "provider_name": "registry.terraform.io/hashicorp/null",
                "change": {
                    "actions": ["create"], "before": None,
                    "after": {"triggers": {"a": canary, "b": encoded}},
                    "after_sensitive": {"triggers": {"a": True}}, "after_unknown": {},
                },
            }
        ],
    }  # fmt: skip
    text = redacted_full_plan(json.dumps(plan).encode())
    assert "null_resource.x" in text
    assert canary not in text and encoded not in text
