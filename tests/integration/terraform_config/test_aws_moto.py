"""terraform/infra (and the bootstrap and the controller) with the real AWS provider against a
moto server on loopback. The AWS provider cannot be downloaded here: the tests use a filesystem
mirror of hashicorp/aws when the machine has one, and skip (saying how to enable them) when not.

The unchanged configuration runs: only the endpoint (AWS_ENDPOINT_URL) and dummy credentials
differ from AWS. One override replaces the S3 state backend with a local one, because the state
bucket's policy refuses plain HTTP, which is all moto speaks.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import boto3
import pytest

pytestmark = pytest.mark.slow

LOCAL_BACKEND = 'terraform {\n  backend "local" {}\n}\n'


@pytest.fixture(scope="module")
def aws_env(kit, aws_mirror, moto_endpoint, tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("tf-home")
    return {**kit.base_env(home, kit.mirror_cli_config(aws_mirror)), **kit.aws_env(moto_endpoint)}


@pytest.fixture(scope="module")
def aws(moto_endpoint):
    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=moto_endpoint,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


def terraform_for(kit, source: str, workdir, env):
    """Init a copy of ``terraform/<source>`` with the project's Terraform; if that binary is
    too old for the mirrored provider, retry with a newer ``terraform`` from PATH."""
    kit.copy_config(kit.TERRAFORM_DIR / source, workdir)
    (workdir / "backend_override.tf").write_text(LOCAL_BACKEND)
    binaries = [kit.terraform_binary()]
    newer = shutil.which("terraform", path=env.get("PATH"))
    if newer:
        binaries.append(newer)
    errors = []
    for binary in binaries:
        tf = kit.Terraform(binary, workdir, env)
        result = tf.run("init", "-input=false", "-no-color", check=False)
        if result.returncode == 0:
            return tf
        errors.append(f"{binary}: {result.stderr[-1500:]}")
    pytest.fail("terraform init failed with the mirrored provider:\n" + "\n".join(errors))


def plan_is_empty(tf, *args: str) -> subprocess.CompletedProcess:
    return tf.run("plan", "-detailed-exitcode", "-input=false", "-no-color", *args, check=False)


def test_infra_plans_applies_replans_clean_and_destroys(kit, aws_env, aws, tmp_path) -> None:
    tf = terraform_for(kit, "infra", tmp_path / "infra", aws_env)
    var_file = f"-var-file={kit.FIXTURES / 'infra-moto.tfvars'}"
    tf.run("plan", "-input=false", "-no-color", var_file, "-out=tfplan")
    tf.run("apply", "-input=false", "-no-color", "tfplan")

    outputs = tf.outputs()
    hosts = outputs["hosts"]
    assert outputs["domain"] == "example.com"
    assert [h["name"] for h in hosts["app"]] == ["app-1"]
    assert [h["name"] for h in hosts["monitoring"]] == ["monitoring-1"]
    assert hosts["app"][0]["dns_name"] == "example.com"
    assert hosts["monitoring"][0]["dns_name"] == "grafana.example.com"
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(outputs["inventory_ini"])  # what the runner's inventory step writes
    kit.assert_inventory_matches_hosts(inventory.read_text(), hosts, "example.com")

    check_instances_in_moto(aws, hosts)
    check_dns_in_moto(aws, hosts)

    again = plan_is_empty(tf, var_file)
    assert again.returncode == 0, f"the re-plan is not empty:\n{again.stdout[-4000:]}"

    tf.run("destroy", "-auto-approve", "-input=false", "-no-color", var_file)
    states = {
        i["State"]["Name"]
        for r in aws("ec2").describe_instances()["Reservations"]
        for i in r["Instances"]
    }
    assert states <= {"terminated"}
    assert aws("ec2").describe_addresses()["Addresses"] == []


def check_instances_in_moto(aws, hosts) -> None:
    ec2 = aws("ec2")
    for role, role_hosts in hosts.items():
        for host in role_hosts:
            instance = ec2.describe_instances(InstanceIds=[host["instance_id"]])["Reservations"][0][
                "Instances"
            ][0]
            tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
            assert tags["Role"] == role  # what SSM targeting selects on
            assert instance["MetadataOptions"]["HttpTokens"] == "required"
            assert instance["PrivateIpAddress"] == host["private_ip"]
            assert "KeyName" not in instance
            assert instance["IamInstanceProfile"]["Arn"].endswith(f"-{role}-host")
            address = ec2.describe_addresses(PublicIps=[host["public_ip"]])["Addresses"][0]
            assert address["InstanceId"] == host["instance_id"]
            volume_id = instance["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
            volume = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
            assert volume["Encrypted"] is True and volume["VolumeType"] == "gp3"
        # Ansible's SSM connection moves files through the controller's bucket, under i-*.
        policy = aws("iam").get_role_policy(
            RoleName=f"maestrops-test-{role}-host", PolicyName="ansible-file-transfer"
        )["PolicyDocument"]
        resources = [s["Resource"] for s in policy["Statement"]]
        assert "arn:aws:s3:::maestrops-test-artifacts-123456789012/i-*" in resources
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["*-app"]}])
    for group in groups["SecurityGroups"]:
        ports = {p.get("FromPort") for p in group["IpPermissions"]}
        assert 22 not in ports


def check_dns_in_moto(aws, hosts) -> None:
    route53 = aws("route53")
    zone = route53.list_hosted_zones_by_name(DNSName="example.com")["HostedZones"][0]
    records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    a_records = {
        r["Name"].rstrip("."): sorted(v["Value"] for v in r["ResourceRecords"])
        for r in records
        if r["Type"] == "A"
    }
    assert a_records == {
        "example.com": [h["public_ip"] for h in hosts["app"]],
        "grafana.example.com": [h["public_ip"] for h in hosts["monitoring"]],
    }


def test_bootstrap_creates_a_private_versioned_state_store(kit, aws_env, aws, tmp_path) -> None:
    tf = terraform_for(kit, "bootstrap", tmp_path / "bootstrap", aws_env)
    tf.run("apply", "-auto-approve", "-input=false", "-no-color")
    outputs = tf.outputs()
    bucket, table = outputs["state_bucket"], outputs["lock_table"]
    s3 = aws("s3")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    described = aws("dynamodb").describe_continuous_backups(TableName=table)
    pitr = described["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert plan_is_empty(tf).returncode == 0
    tf.run("destroy", "-auto-approve", "-input=false", "-no-color")


def test_controller_validates_and_plans(kit, aws_env, tmp_path) -> None:
    tf = terraform_for(kit, "controller", tmp_path / "controller", aws_env)
    tf.run("validate", "-no-color")
    tf.run(
        "plan",
        "-input=false",
        "-no-color",
        "-var=wire_lambdas=true",
        '-var=allowed_repos=["acme/infra"]',
        "-var=alarm_email=oncall@example.com",
        "-out=tfplan",
    )

    plan = json.loads(tf.run("show", "-json", "tfplan").stdout)
    planned = {c["address"] for c in plan["resource_changes"]}
    for address in (
        "aws_dynamodb_table.main",
        "aws_dynamodb_table.idempotency",
        "aws_sqs_queue.events",
        "aws_sqs_queue.events_dlq",
        "aws_s3_bucket.artifacts",
        "aws_codebuild_project.runner",
        "aws_ecs_task_definition.runner",
        "aws_ecr_repository.runner",
        'aws_cloudwatch_metric_alarm.controller["deploy-failed"]',
        "aws_lambda_event_source_mapping.dispatch_events[0]",
        'aws_cloudwatch_event_target.service_state["codebuild"]',
        "aws_sns_topic_subscription.alarm_email[0]",
        "aws_cloudwatch_dashboard.controller",
    ):
        assert address in planned, address
    table = next(c for c in plan["resource_changes"] if c["address"] == "aws_dynamodb_table.main")
    indexes = {i["name"] for i in table["change"]["after"]["global_secondary_index"]}
    assert indexes == {"by_repo", "by_repo_pipeline", "by_repo_pr", "by_status", "by_time"}
