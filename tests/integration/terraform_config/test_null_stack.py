"""terraform/examples/null-stack with the real Terraform and the real null provider: init from a
plugin directory, plan, apply, outputs, a re-plan without changes, a change, destroy."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def null_stack(kit, null_plugin_dir, tmp_path):
    workdir = kit.copy_config(kit.TERRAFORM_DIR / "examples" / "null-stack", tmp_path / "stack")
    # An empty CLI configuration: nothing but -plugin-dir may provide a provider.
    tf = kit.Terraform(kit.terraform_binary(), workdir, kit.base_env(tmp_path, ""))
    tf.run("init", "-input=false", "-no-color", f"-plugin-dir={null_plugin_dir}")
    return tf


def test_plan_apply_outputs_replan_destroy(null_stack, kit) -> None:
    tf = null_stack
    plan = tf.run("plan", "-input=false", "-no-color", "-var=app_instance_count=2", "-out=tfplan")
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in plan.stdout
    shown = json.loads(tf.run("show", "-json", "tfplan").stdout)
    created = {
        c["address"] for c in shown["resource_changes"] if c["change"]["actions"] == ["create"]
    }
    assert created == {
        'null_resource.host["app-1"]',
        'null_resource.host["app-2"]',
        'null_resource.host["monitoring-1"]',
    }

    tf.run("apply", "-input=false", "-no-color", "tfplan")
    outputs = tf.outputs()
    assert outputs["domain"] == "localhost"
    assert outputs["hosts"]["app"][1] == {
        "name": "app-2",
        "instance_id": "local-app-2",
        "public_ip": "127.0.0.1",
        "private_ip": "127.0.0.1",
        "dns_name": "localhost",
    }
    assert [h["dns_name"] for h in outputs["hosts"]["monitoring"]] == ["grafana.localhost"]
    expected = (kit.FIXTURES / "null-stack-inventory.ini").read_text()
    assert outputs["inventory_ini"] == expected
    kit.assert_inventory_matches_hosts(outputs["inventory_ini"], outputs["hosts"], "localhost")

    # The same inputs plan nothing; -detailed-exitcode says 0 (no changes) or 2 (changes).
    again = tf.run(
        "plan", "-detailed-exitcode", "-no-color", "-var=app_instance_count=2", check=False
    )
    assert again.returncode == 0, again.stdout + again.stderr

    # A new release replaces every host, like a new AMI would.
    changed = tf.run(
        "plan",
        "-detailed-exitcode",
        "-no-color",
        "-var=app_instance_count=2",
        "-var=release=2",
        check=False,
    )
    assert changed.returncode == 2
    assert "Plan: 3 to add, 0 to change, 3 to destroy." in changed.stdout

    tf.run("destroy", "-auto-approve", "-no-color", "-var=app_instance_count=2")
    assert tf.outputs() == {}


def test_inputs_are_validated(null_stack) -> None:
    result = null_stack.run("plan", "-no-color", "-var=host_address=203.0.113.10", check=False)
    assert result.returncode == 1
    assert "must be a loopback address" in result.stderr
