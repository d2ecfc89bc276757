"""Cost estimation, cost policy and optimization insights (pure; no AWS calls).

The public names are imported lazily so that a Lambda handler pays only for what it uses::

    from chalicelib.costs import estimate_plan, render_cost_block
    report = estimate_plan(plan_dict)          # or parse_infracost(infracost_json_bytes)
    comment = render_cost_block(report, find_insights(plan_dict))
    result = evaluate_policy(report, config.policy)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "CostReport": "model",
    "ResourceCost": "model",
    "ProjectCost": "model",
    "CostComponent": "model",
    "UnpricedResource": "model",
    "Estimator": "model",
    "CostTotals": "model",
    "totals_of": "model",
    "parse_infracost": "infracost",
    "estimate_plan": "estimator",
    "render_cost_block": "render",
    "CostConfig": "policy",
    "CostPolicy": "policy",
    "Threshold": "policy",
    "PolicyResult": "policy",
    "Verdict": "policy",
    "evaluate_policy": "policy",
    "APPROVE_COMMAND": "policy",
    "is_approval_comment": "policy",
    "role_allows": "policy",
    "InsightsConfig": "insights",
    "Insight": "insights",
    "CostInsights": "insights",
    "find_insights": "insights",
    "load_catalog": "catalog",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
