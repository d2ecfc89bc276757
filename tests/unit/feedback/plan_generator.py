"""A synthetic ``terraform show -json`` plan of any size, shaped like a real AWS plan.

Deterministic (no randomness): resource ``i`` always gets the same action and values, so
tests and the benchmark see the same file.
"""

from __future__ import annotations

import json
from typing import Any

# Per 20 resources: 12 create, 4 update, 2 delete, 1 replace, 1 no-op.
_PATTERN = ["create"] * 12 + ["update"] * 4 + ["delete"] * 2 + ["replace", "no-op"]
ACTIONS_BY_KIND = {
    "create": ["create"],
    "update": ["update"],
    "delete": ["delete"],
    "replace": ["delete", "create"],
    "no-op": ["no-op"],
}


def action_of(index: int) -> str:
    return _PATTERN[index % len(_PATTERN)]


def _instance(index: int, size: str) -> dict[str, Any]:
    return {
        "ami": f"ami-{index:017x}",
        "instance_type": size,
        "subnet_id": f"subnet-{index % 97:08x}",
        "associate_public_ip_address": index % 2 == 0,
        "user_data": f"#!/bin/sh\necho node-{index}\n",
        "root_block_device": [{"volume_size": 20 + index % 5, "volume_type": "gp3"}],
        "tags": {"Name": f"node-{index}", "Team": f"team-{index % 13}", "Env": "prod"},
        "password_data": f"pw-{index:08d}-secret",
        "monitoring": True,
        "ebs_optimized": index % 3 == 0,
    }


def _change(index: int) -> dict[str, Any]:
    kind = action_of(index)
    before = None if kind == "create" else _instance(index, "t3.micro")
    after = (
        None
        if kind == "delete"
        else _instance(index, "t3.small" if kind == "update" else "t3.micro")
    )
    change: dict[str, Any] = {
        "actions": ACTIONS_BY_KIND[kind],
        "before": before,
        "after": after,
        "after_unknown": {"id": True, "arn": True} if after is not None else {},
        "before_sensitive": {"password_data": True} if before is not None else False,
        "after_sensitive": {"password_data": True} if after is not None else False,
    }
    if kind == "replace":
        change["replace_paths"] = [["ami"]]
    return change


def resource_change(index: int) -> dict[str, Any]:
    module = f"module.cell_{index // 500}"
    return {
        "address": f"{module}.aws_instance.node[{index}]",
        "module_address": module,
        "mode": "managed",
        "type": "aws_instance",
        "name": "node",
        "index": index,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": _change(index),
    }


def generate_plan(count: int) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.0.3",
        "resource_changes": [resource_change(i) for i in range(count)],
        "output_changes": {},
    }


def generate_plan_bytes(count: int) -> bytes:
    return json.dumps(generate_plan(count), indent=2).encode()
