"""Security properties read from the parsed HCL (tools can miss them across modules)."""

from __future__ import annotations

import re
from typing import Any

OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
WILDCARD_ACTION = re.compile(r"^(\*|[a-z0-9-]+:\*)$")


def ingress_rules(hcl: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every ingress rule: inline blocks, dynamic blocks' content, and rule resources."""
    rules = []
    for f, name, body in hcl.resources("aws_security_group"):
        rules += [(f"{f.path.name}:{name}", rule) for rule in body.get("ingress", [])]
        for dynamic in body.get("dynamic", []):
            for content in dynamic.get("ingress", {}).get("content", []):
                rules.append((f"{f.path.name}:{name} (dynamic)", content))
    for f, name, body in hcl.resources("aws_security_group_rule"):
        if body.get("type") == "ingress":
            rules.append((f"{f.path.name}:{name}", body))
    for f, name, body in hcl.resources("aws_vpc_security_group_ingress_rule"):
        rules.append((f"{f.path.name}:{name}", {**body, "cidr_blocks": [body.get("cidr_ipv4")]}))
    return rules


def covers_port(rule: dict[str, Any], port: int) -> bool:
    if rule.get("protocol") in ("-1", "all"):
        return True
    low, high = rule.get("from_port"), rule.get("to_port")
    if not isinstance(low, int) or not isinstance(high, int):
        return False  # a computed port comes from a map of monitoring ports, checked below
    return low <= port <= high


def test_security_groups_exist_and_are_read(hcl: Any) -> None:
    assert len(ingress_rules(hcl)) >= 6


def test_no_ssh_from_the_internet(hcl: Any) -> None:
    for where, rule in ingress_rules(hcl):
        cidrs = set(rule.get("cidr_blocks", [])) | set(rule.get("ipv6_cidr_blocks", []))
        assert not (covers_port(rule, 22) and cidrs & OPEN_CIDRS), (
            f"{where} opens SSH to the internet"
        )


def test_no_ssh_at_all_on_the_managed_hosts(hcl: Any) -> None:
    # Ansible and deploys go through SSM, so port 22 has no reason to be open anywhere.
    for where, rule in ingress_rules(hcl):
        assert not covers_port(rule, 22), f"{where} opens port 22"


def test_monitoring_ports_stay_inside_the_vpc(hcl: Any) -> None:
    locals_ = hcl.file("infra/modules/network/security_groups.tf").body["locals"][0]
    assert set(locals_["internal_ports"].values()) == {9090, 3100, 8080, 9100}
    for where, rule in ingress_rules(hcl):
        if "dynamic" in where:
            assert rule["cidr_blocks"] == ["${var.vpc_cidr}"], where
        elif set(rule.get("cidr_blocks", [])) & OPEN_CIDRS:
            assert (rule["from_port"], rule["to_port"]) in {(80, 80), (443, 443)}, where


def test_every_bucket_is_encrypted_versioned_and_private(hcl: Any) -> None:
    buckets = hcl.resources("aws_s3_bucket")
    assert len(buckets) >= 2
    for kind in (
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_public_access_block",
    ):
        covered = {body["bucket"] for _, _, body in hcl.resources(kind)}
        for f, name, _ in buckets:
            assert f"${{aws_s3_bucket.{name}.id}}" in covered, f"{f.path.name}: {name} lacks {kind}"
    for _, _, body in hcl.resources("aws_s3_bucket_public_access_block"):
        assert all(
            body[k] is True
            for k in (
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            )
        )


def test_every_table_is_encrypted_and_recoverable(hcl: Any) -> None:
    tables = hcl.resources("aws_dynamodb_table")
    assert len(tables) >= 3
    for f, name, body in tables:
        assert body["server_side_encryption"][0]["enabled"] is True, f"{f.path.name}: {name}"
        assert body["point_in_time_recovery"][0]["enabled"] is True, f"{f.path.name}: {name}"


def test_every_volume_is_encrypted_gp3(hcl: Any) -> None:
    instances = hcl.resources("aws_instance")
    assert instances
    for f, name, body in instances:
        root = body["root_block_device"][0]
        assert root["encrypted"] is True and root["volume_type"] == "gp3", f"{f.path.name}: {name}"
    for f, name, body in hcl.resources("aws_ebs_volume"):
        assert body.get("encrypted") is True, f"{f.path.name}: {name}"


def test_imdsv2_is_required(hcl: Any) -> None:
    for f, name, body in hcl.resources("aws_instance") + hcl.resources("aws_launch_template"):
        assert body["metadata_options"][0]["http_tokens"] == "required", f"{f.path.name}: {name}"


def test_queues_topics_secrets_and_images_are_encrypted(hcl: Any) -> None:
    for _, name, body in hcl.resources("aws_sqs_queue"):
        assert body.get("kms_master_key_id") or body.get("sqs_managed_sse_enabled"), name
    for kind, key in (
        ("aws_sns_topic", "kms_master_key_id"),
        ("aws_secretsmanager_secret", "kms_key_id"),
        ("aws_cloudwatch_log_group", "kms_key_id"),
    ):
        for f, name, body in hcl.resources(kind):
            if f.path.parts[-2] == "network":
                continue  # the VPC flow logs: service-owned encryption, skip reasoned there
            assert body.get(key), f"{f.path.name}: {kind}.{name} has no {key}"
    for _, name, body in hcl.resources("aws_ecr_repository"):
        assert body["encryption_configuration"][0]["encryption_type"] == "KMS", name


def iam_statements(hcl: Any) -> list[tuple[str, dict[str, Any]]]:
    statements = []
    for f, name, body in hcl.data("aws_iam_policy_document"):
        for statement in body.get("statement", []):
            statements.append((f"{f.path.name}:{name}", statement))
        for dynamic in body.get("dynamic", []):
            for content in dynamic.get("statement", {}).get("content", []):
                statements.append((f"{f.path.name}:{name} (dynamic)", content))
    return statements


def test_iam_policies_are_read(hcl: Any) -> None:
    assert len(iam_statements(hcl)) >= 25


def test_wildcard_actions_are_justified_next_to_them(hcl: Any) -> None:
    justified_lines = {
        line.strip() for f in hcl.files for line in f.text.splitlines() if "# justified:" in line
    }
    for where, statement in iam_statements(hcl):
        actions = statement.get("actions", [])
        if isinstance(actions, str):  # a conditional expression: check its literals
            actions = re.findall(r'\\"([^"\\]+)\\"', actions) or re.findall(r'"([^"]+)"', actions)
        for action in actions:
            if WILDCARD_ACTION.match(action):
                assert any(
                    f'"{action}"' in line and "actions" in line for line in justified_lines
                ), f"{where}: action {action!r} without a '# justified:' comment on its line"


def test_inline_json_policies_have_no_wildcard_actions(hcl: Any) -> None:
    for f in hcl.files:
        for number, line in enumerate(f.text.splitlines(), 1):
            match = re.search(r"\bAction\s*=\s*(.+)$", line)
            if match and re.search(r'"(\*|[a-z0-9-]+:\*)"', match.group(1)):
                assert "# justified:" in line, f"{f.path}:{number}: wildcard Action"


def test_wildcard_resources_are_justified(hcl: Any) -> None:
    for f in hcl.files:
        for number, line in enumerate(f.text.splitlines(), 1):
            if re.search(r'^\s*resources\s*=\s*\["\*"\]', line):
                assert "# justified:" in line, f'{f.path}:{number}: resources = ["*"] unexplained'


def test_ssm_is_the_only_way_in(hcl: Any) -> None:
    attachments = [b["policy_arn"] for _, _, b in hcl.resources("aws_iam_role_policy_attachment")]
    assert "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" in attachments
    for _, name, body in hcl.resources("aws_instance"):
        assert "key_name" not in body, f"{name} carries an SSH key pair"
