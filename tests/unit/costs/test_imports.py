"""The cost package stays light to import: a Lambda cold start pays for every module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("boto3", "botocore", "yaml", "chalice", "requests", "aws_lambda_powertools", "moto")


def _modules_after(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_package_imports_nothing_until_a_name_is_used() -> None:
    modules = _modules_after("import chalicelib.costs")
    assert not {m for m in modules if m.startswith("chalicelib.costs.")}
    assert "pydantic" not in modules


def test_the_whole_package_needs_only_pydantic_and_the_standard_library() -> None:
    modules = _modules_after(
        "from chalicelib.costs import estimate_plan, parse_infracost, render_cost_block, "
        "evaluate_policy, find_insights, CostConfig"
    )
    assert "pydantic" in modules
    assert not [m for m in modules if m.split(".")[0] in HEAVY]


def test_a_name_that_does_not_exist_is_an_attribute_error() -> None:
    import chalicelib.costs as costs

    with pytest.raises(AttributeError, match="does_not_exist"):
        costs.does_not_exist  # noqa: B018
