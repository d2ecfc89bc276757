"""The rights AWS-mode application runs need, as the Terraform code grants them.

ci-application pushes images with the runner's identity; cd-application sends the deploy to
the app hosts over SSM (found by tag, followed by id, never ListCommands); the app hosts
read exactly the application's secret and pull the app images; the secret exists; the
runners are told the registry and the secret; the hosts' first boot installs the AWS CLI.
"""

from __future__ import annotations

from typing import Any

from runners.steps.deploy import ENV_APP_SECRET


def _statements(hcl: Any, file: str, name: str) -> dict[str, dict[str, Any]]:
    """sid -> statement of a policy document, its dynamic statements' content included."""
    (body,) = [b for t, n, b in hcl.file(file).blocks("data") if n == name]
    found = {s["sid"]: s for s in body.get("statement", [])}
    for dynamic in body.get("dynamic", []):
        content = dynamic["statement"]["content"][0]
        found[content["sid"]] = content
    return found


def _statements_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    dynamic = [d["statement"]["content"][0] for d in body.get("dynamic", []) if "statement" in d]
    return [*body.get("statement", []), *dynamic]


def test_the_apply_identity_deploys_to_app_hosts_only(hcl: Any) -> None:
    apply = _statements(hcl, "controller/iam.tf", "runner")
    send = apply["DeployToTheAppHosts"]
    assert send["actions"] == ["ssm:SendCommand"]
    assert send["resources"] == [
        "arn:${local.partition}:ec2:${var.region}:${local.account_id}:instance/*"
    ]
    assert send["condition"][0]["variable"] == "ssm:resourceTag/Role"
    assert send["condition"][0]["values"] == ["app"]
    assert apply["TheDeployScriptDocument"]["resources"] == [
        "arn:${local.partition}:ssm:${var.region}::document/AWS-RunShellScript"
    ]
    assert apply["DeployOutcome"]["actions"] == ["ssm:GetCommandInvocation"]
    assert apply["FindTheAppHosts"]["actions"] == ["ec2:DescribeInstances"]


def test_no_identity_may_send_commands_from_pull_request_code_or_list_commands(hcl: Any) -> None:
    plan = _statements(hcl, "controller/iam.tf", "runner_plan")
    common = _statements(hcl, "controller/iam.tf", "runner_common")
    for statement in [*plan.values(), *common.values()]:
        assert "ssm:SendCommand" not in statement["actions"], statement["sid"]
    # ListCommands returns every command's parameters: no policy of this project grants it
    # to a runner (the controller's own functions send and watch the SSM runner commands).
    runner_docs = [b for _, n, b in hcl.data("aws_iam_policy_document") if n.startswith("runner")]
    for body in runner_docs:
        for statement in _statements_of(body):
            assert not any(a in ("ssm:ListCommands", "ssm:*") for a in statement["actions"])


def test_ci_application_pushes_only_to_the_app_repositories(hcl: Any) -> None:
    push = _statements(hcl, "controller/iam.tf", "runner_common")["PushApplicationImages"]
    assert "ecr:PutImage" in push["actions"]
    assert push["resources"] == "${[for r in aws_ecr_repository.app : r.arn]}"
    (app_repos,) = [b for _, n, b in hcl.resources("aws_ecr_repository") if n == "app"]
    assert app_repos["image_tag_mutability"] == "IMMUTABLE"


def test_the_application_secret_and_registry_reach_the_runners(hcl: Any) -> None:
    secrets = hcl.file("controller/secrets.tf").body["locals"][0]["secrets"]
    assert "app" in secrets
    runner = hcl.file("controller/runner.tf").body["locals"][0]["runner_environment"]
    assert f'{ENV_APP_SECRET} = aws_secretsmanager_secret.this["app"].name' in runner
    assert "MAESTRO_REGISTRY = local.app_registry" in runner
    registry = hcl.file("controller/ecr.tf").body["locals"][0]["app_registry"]
    assert ".dkr.ecr.${var.region}.amazonaws.com/${local.name}" in registry


def test_app_hosts_read_exactly_the_app_secret_and_pull_the_app_images(hcl: Any) -> None:
    deploy = _statements(hcl, "infra/modules/compute/main.tf", "deploy")
    assert deploy["ReadTheAppSecret"]["actions"] == ["secretsmanager:GetSecretValue"]
    assert deploy["ReadTheAppSecret"]["resources"] == (
        "${compact([var.app_secret_arn, var.app_registry_secret_arn])}"
    )
    decrypt = deploy["DecryptTheAppSecret"]
    assert decrypt["condition"][0]["variable"] == "kms:ViaService"
    assert deploy["PullTheAppImages"]["resources"] == "${var.app_image_repository_arns}"
    modules = hcl.file("infra/main.tf").body["module"]
    by_name = {name: body for entry in modules for name, body in entry.items()}
    assert by_name["app"]["app_secret_arn"] == "${var.app_secret_arn}"
    assert "app_secret_arn" not in by_name["monitoring"]


def test_hosts_install_the_aws_cli_at_first_boot(hcl: Any) -> None:
    user_data = (
        hcl.file("infra/modules/compute/main.tf").path.parent / "templates" / "user_data.sh.tftpl"
    ).read_text()
    install = [line for line in user_data.splitlines() if line.startswith("apt-get install")]
    assert any(" awscli" in line for line in install)
    assert "aws --version" in user_data
