from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
INFRACOST_JSON = FIXTURES / "infracost" / "json"
PLANS = FIXTURES / "cost_plans"


@pytest.fixture
def infracost_bytes() -> Callable[[str], bytes]:
    return lambda name: (INFRACOST_JSON / name).read_bytes()


@pytest.fixture
def plan_file() -> Callable[[str], dict[str, Any]]:
    return lambda name: json.loads((PLANS / name).read_bytes())


def make_plan(*changes: dict[str, Any], region: str | None = "us-east-1") -> dict[str, Any]:
    """A minimal ``terraform show -json`` document around the given resource changes."""
    providers: dict[str, Any] = {}
    if region is not None:
        providers["aws"] = {"name": "aws", "expressions": {"region": {"constant_value": region}}}
    return {
        "format_version": "1.2",
        "resource_changes": list(changes),
        "configuration": {"provider_config": providers, "root_module": {}},
    }


def change(
    address: str,
    actions: list[str],
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    rtype = address.split(".")[-2] if address.startswith("module.") else address.split(".")[0]
    return {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": address.rsplit(".", 1)[-1],
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": actions, "before": before, "after": after},
    }


@pytest.fixture
def plan_of() -> Callable[..., dict[str, Any]]:
    return make_plan


@pytest.fixture
def rc() -> Callable[..., dict[str, Any]]:
    return change
