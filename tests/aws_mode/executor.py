"""Plays CodeBuild, ECS and SSM for the AWS-mode test: runs what a start call asked for.

moto records a start call but runs nothing. Its request recorder keeps each call as the
controller sent it; this reads ``StartBuild`` (with the project moto holds: its environment
and buildspec), ``RunTask`` (with the task definition's container) and ``SendCommand`` (the
``AWS-RunShellScript`` commands), and runs the runner as that service would: the same commands,
in a subprocess whose environment is exactly what the service gives the container (the
project's or container's variables, the call's overrides, the image's own ENV) plus the AWS
endpoint and credentials. Nothing of the test process is inherited.

The credentials are an IAM user's holding only the policies of the identity the call names
(``serviceRoleOverride`` / ``taskRoleArn``, else the project's or task definition's role),
and moto enforces IAM while the runner runs. moto 5.2.5 authorises S3, SQS, IAM and STS
requests against their resource ARN but every other service against ``*``: a statement of those
other services whose resources are ARNs could never match there, so the user gets those
statements with ``Resource: "*"`` (their actions unchanged). S3 rights, the state's and the
artifacts', keep their exact resources. DynamoDB transactions are allowed by the actions they
hold, as AWS authorises them (``transaction_actions``).
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runners.plugins import ensure_plugin_dir

REPO = Path(__file__).resolve().parents[2]
RESOURCE_CHECKED = ("s3", "sqs", "iam", "sts")
# The runner image's own ENV (runners/Dockerfile); PYTHONPATH is where the image copies the
# code. CHECKPOINT_DISABLE keeps Terraform from calling HashiCorp: nothing leaves loopback.
IMAGE_ENV = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "TF_IN_AUTOMATION": "1",
    "TF_INPUT": "0",
    "PYTHONPATH": str(REPO),
    "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "CHECKPOINT_DISABLE": "1",
}
TARGETS = {
    "CodeBuild_20161006.StartBuild": "codebuild",
    "AmazonEC2ContainerServiceV20141113.RunTask": "ecs",
    "AmazonSSM.SendCommand": "ssm",
}


@dataclass
class StartCall:
    service: str
    body: dict[str, Any]


@dataclass
class Execution:
    service: str
    run_id: str
    role_arn: str
    commands: list[str]
    env: dict[str, str]
    returncode: int = 0
    output: str = ""
    policies: dict[str, Any] = field(default_factory=dict)


def recorded_start_calls(recording: Path, seen: int) -> tuple[list[StartCall], int]:
    """Start calls in moto's recording after the first ``seen`` lines; the new line count."""
    lines = recording.read_text().splitlines() if recording.exists() else []
    calls = []
    for line in lines[seen:]:
        entry = json.loads(line)
        target = {k.lower(): v for k, v in entry["headers"].items()}.get("x-amz-target", "")
        if target not in TARGETS:
            continue
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode()
        calls.append(StartCall(TARGETS[target], json.loads(body)))
    return calls, len(lines)


def transaction_actions(actions: list[str]) -> list[str]:
    """AWS authorises a DynamoDB transaction by the actions inside it (PutItem, UpdateItem,
    DeleteItem, ConditionCheckItem; GetItem): there is no TransactWriteItems permission to
    grant. moto 5.2.5 checks the operation's own name, so a statement allowing a write a
    transaction may hold is given that name too; whether each item of each transaction was
    allowed on its table is checked afterwards, as AWS would (``iam_audit.py``)."""
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
              "dynamodb:ConditionCheckItem"}  # fmt: skip
    extra = ["dynamodb:TransactWriteItems"] if writes & set(actions) else []
    return extra + (["dynamodb:TransactGetItems"] if "dynamodb:GetItem" in actions else [])


def moto_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of a policy as moto can evaluate them (module docstring)."""
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    out = []
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        actions = actions + transaction_actions(actions)
        checked = [a for a in actions if a.split(":", 1)[0] in RESOURCE_CHECKED]
        unchecked = [a for a in actions if a not in checked]
        if not unchecked or "Resource" not in statement:
            out.append(statement)
            continue
        # One statement may name a table and a queue: split it so the queue's actions keep
        # their resources and the table's are evaluated as moto can.
        if checked:
            out.append({**statement, "Action": checked})
            if "Sid" in statement:  # Sids are unique within a policy
                statement = {**statement, "Sid": statement["Sid"] + "AsMotoEvaluates"}
        out.append({**statement, "Action": unchecked, "Resource": "*"})
    return out


class Executor:
    def __init__(self, endpoint: str, aws, recording: Path, workdir: Path) -> None:  # type: ignore[no-untyped-def]
        self.endpoint = endpoint
        self.aws = aws  # service name -> boto3 client with the admin's (moto's default) keys
        self.recording = recording
        self.workdir = workdir
        self.seen = len(recording.read_text().splitlines()) if recording.exists() else 0
        self.executions: list[Execution] = []
        self._users: dict[str, tuple[str, str, dict[str, Any]]] = {}

    # -- identities ------------------------------------------------------------------------
    def role_policies(self, role_arn: str) -> dict[str, Any]:
        iam = self.aws("iam")
        name = role_arn.rsplit("/", 1)[1]
        policies = {
            p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
            for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
        }
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
            version = iam.get_policy_version(
                PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
            )
            policies[attached["PolicyName"]] = version["PolicyVersion"]["Document"]
        return policies

    def credentials_of(self, role_arn: str) -> tuple[str, str, dict[str, Any]]:
        """Keys of an IAM user that holds exactly the role's policies (as moto evaluates)."""
        if role_arn not in self._users:
            iam = self.aws("iam")
            policies = self.role_policies(role_arn)
            user = f"as-{role_arn.rsplit('/', 1)[1]}"[:55] + f"-{uuid.uuid4().hex[:8]}"
            iam.create_user(UserName=user)
            for name, document in policies.items():
                if isinstance(document, str):
                    document = json.loads(urllib.parse.unquote(document))
                statements = moto_statements(document)
                iam.put_user_policy(
                    UserName=user,
                    PolicyName=name,
                    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
                )
            key = iam.create_access_key(UserName=user)["AccessKey"]
            self._users[role_arn] = (key["AccessKeyId"], key["SecretAccessKey"], policies)
        return self._users[role_arn]

    def identities(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Access key id -> (role ARN, the role's policies as IAM holds them), for every role
        whose keys were handed out so far."""
        return {key: (role, policies) for role, (key, _, policies) in self._users.items()}

    # -- what each service runs ------------------------------------------------------------
    def from_codebuild(self, body: dict[str, Any]) -> Execution:
        project = self.aws("codebuild").batch_get_projects(names=[body["projectName"]])["projects"][
            0
        ]
        env = {
            v["name"]: v["value"]
            for v in project["environment"].get("environmentVariables", [])
            if v.get("type", "PLAINTEXT") == "PLAINTEXT"
        }
        spec = yaml.safe_load(body.get("buildspecOverride") or project["source"]["buildspec"])
        env.update({k: str(v) for k, v in (spec.get("env") or {}).get("variables", {}).items()})
        env.update({v["name"]: v["value"] for v in body.get("environmentVariablesOverride", [])})
        env["AWS_REGION"] = env.get("AWS_DEFAULT_REGION", "")  # CodeBuild sets both
        phases = spec.get("phases", {})
        commands = [
            command
            for phase in ("install", "pre_build", "build", "post_build")
            for command in (phases.get(phase) or {}).get("commands", [])
        ]
        role = body.get("serviceRoleOverride") or project["serviceRole"]
        return Execution("codebuild", env.get("MAESTRO_RUN_ID", ""), role, commands, env)

    def from_ecs(self, body: dict[str, Any]) -> Execution:
        definition = self.aws("ecs").describe_task_definition(
            taskDefinition=body["taskDefinition"]
        )["taskDefinition"]
        override = {o["name"]: o for o in body.get("overrides", {}).get("containerOverrides", [])}
        [container] = [c for c in definition["containerDefinitions"] if c["name"] in override]
        mine = override[container["name"]]
        env = {e["name"]: e["value"] for e in container.get("environment", [])}
        env.update({e["name"]: e["value"] for e in mine.get("environment", [])})
        env["AWS_REGION"] = env.get("AWS_DEFAULT_REGION", "")  # Fargate sets both
        command = mine.get("command") or container.get("command") or []
        role = body.get("overrides", {}).get("taskRoleArn") or definition["taskRoleArn"]
        return Execution("ecs", env.get("MAESTRO_RUN_ID", ""), role, [shlex.join(command)], env)

    def from_ssm(self, body: dict[str, Any], instance_role: str) -> Execution:
        commands = body["Parameters"]["commands"]
        run_id = next(
            (shlex.split(c)[1].partition("=")[2] for c in commands if "MAESTRO_RUN_ID=" in c), ""
        )
        return Execution("ssm", run_id, instance_role, list(commands), {})

    # -- running ---------------------------------------------------------------------------
    def pending(self) -> Iterator[StartCall]:
        calls, self.seen = recorded_start_calls(self.recording, self.seen)
        yield from calls

    def image_env(self) -> dict[str, str]:
        """The image's ENV, and its Terraform configuration. The image downloads providers from
        the registry; this machine is offline, so the image here carries the null provider in a
        filesystem mirror instead (Terraform then contacts no registry)."""
        mirror = ensure_plugin_dir(self.workdir / "provider-mirror")
        rc = self.workdir / "terraform.rc"
        rc.write_text(
            f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
        )
        return {**IMAGE_ENV, "TF_CLI_CONFIG_FILE": str(rc)}

    def run(self, execution: Execution, rewrite: dict[str, str] | None = None) -> Execution:
        key_id, secret, policies = self.credentials_of(execution.role_arn)
        home = self.workdir / f"{execution.service}-{execution.run_id or uuid.uuid4().hex}"
        # A second start call for one run: the controller started it twice, or moto failed
        # the call and botocore retried it (the recording keeps requests, not answers).
        assert not home.exists(), f"{execution.service} was asked twice to run {execution.run_id}"
        home.mkdir(parents=True)
        env = {
            **self.image_env(),
            **execution.env,
            "HOME": str(home),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
        }
        execution.env, execution.policies = env, policies
        script = "set -e\n" + "\n".join(
            (rewrite or {}).get(command, command) for command in execution.commands
        )
        self.enforce_iam(True)
        try:
            done = subprocess.run(
                ["/bin/bash", "-c", script],
                cwd=home,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        finally:
            self.enforce_iam(False)
        execution.returncode, execution.output = done.returncode, done.stdout + done.stderr
        self.executions.append(execution)
        return execution

    def enforce_iam(self, on: bool) -> None:
        """moto's IAM check for every request from now (``INITIAL_NO_AUTH_ACTION_COUNT``)."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=(b"0" if on else b"inf"),
            # Not form-encoded: moto reads the raw body, which Flask empties for a form.
            headers={"Content-Type": "text/plain"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
