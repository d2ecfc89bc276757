"""Time the built-in estimator on a generated 10,000-resource plan against json.loads of it.

    .venv/bin/python bench/bench_cost_estimate.py [resources]

Prints the time of ``json.loads`` on the plan file, of ``estimate_plan`` on the decoded plan
(and of the insights and the comment), and the ratio estimate / json.loads.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.costs.estimator import estimate_plan  # noqa: E402
from chalicelib.costs.insights import find_insights  # noqa: E402
from chalicelib.costs.render import render_cost_block  # noqa: E402

REPEAT = 5
TYPES = ["t3.micro", "t3.large", "m5.xlarge", "m4.large", "c6g.large", "r5.2xlarge"]


def _resource(i: int) -> dict[str, Any]:
    kind = i % 8
    action = ["create", "update", "no-op", "delete"][i % 4]
    if kind in (0, 1, 2):
        attrs = {
            "instance_type": TYPES[i % len(TYPES)],
            "ami": f"ami-{i:08x}",
            "tags": {"env": "dev" if i % 3 else "prod", "Name": f"web-{i}"},
            "root_block_device": [{"volume_size": 20 + i % 50, "volume_type": "gp2"}],
            "ebs_block_device": [{"volume_size": 100, "volume_type": "gp3", "iops": 4000}],
            "vpc_security_group_ids": [f"sg-{i:08x}"],
            "user_data": "#!/bin/sh\necho hello\n" * 4,
        }
        rtype = "aws_instance"
    elif kind == 3:
        rtype, attrs = "aws_ebs_volume", {"type": "gp2", "size": 10 + i % 500}
    elif kind == 4:
        rtype, attrs = "aws_eip", {"domain": "vpc"}
    elif kind == 5:
        rtype, attrs = "aws_security_group", {"name": f"sg-{i}", "ingress": [], "egress": []}
    elif kind == 6:
        rtype, attrs = "aws_lb", {"load_balancer_type": "application", "internal": False}
    else:
        rtype, attrs = "aws_sqs_queue", {"name": f"q-{i}"}
    before = None if action == "create" else attrs
    after = None if action == "delete" else attrs
    return {
        "address": f"module.m{i % 20}.{rtype}.r{i}",
        "module_address": f"module.m{i % 20}",
        "mode": "managed",
        "type": rtype,
        "name": f"r{i}",
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": [action],
            "before": before,
            "after": after,
            "after_unknown": {"id": True, "arn": True},
            "before_sensitive": {},
            "after_sensitive": {},
        },
    }


def generate(n: int) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.0.3",
        "resource_changes": [_resource(i) for i in range(n)],
        "configuration": {
            "provider_config": {
                "aws": {"name": "aws", "expressions": {"region": {"constant_value": "eu-west-1"}}}
            },
            "root_module": {},
        },
    }


def best(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(json.dumps(generate(n)))
        data = path.read_bytes()
    plan = json.loads(data)
    load = best(lambda: json.loads(data))
    estimate = best(lambda: estimate_plan(plan))
    report = estimate_plan(plan)
    insights = best(lambda: find_insights(plan))
    render = best(lambda: render_cost_block(report, find_insights(plan)))
    print(f"plan: {n} resources, {len(data) / 1e6:.1f} MB; best of {REPEAT}")
    print(f"json.loads          {load * 1000:8.1f} ms")
    print(f"estimate_plan       {estimate * 1000:8.1f} ms")
    print(f"find_insights       {insights * 1000:8.1f} ms")
    print(f"insights + comment  {render * 1000:8.1f} ms")
    print(f"ratio estimate_plan / json.loads: {estimate / load:.2f}")
    priced, unpriced = len(report.resources), len(report.unpriced)
    print(
        f"({priced} priced, {unpriced} unpriced, total {report.total_monthly_cost:.2f} USD/month)"
    )


if __name__ == "__main__":
    main()
