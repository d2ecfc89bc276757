"""SSM commands the runner sends itself: Ansible playbooks and the compose deploy script.

Pure ``build_*`` functions make the request; ``run_command`` sends it and waits. SSM's API
returns only the first 24,000 characters of output, so the full output goes to S3.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TERMINAL = {"Success", "Failed", "Cancelled", "TimedOut", "Cancelling"}
HEREDOC_END = "MAESTRO_SCRIPT_END"
# SendCommand refuses parameters larger than this (the document's parameter size quota).
MAX_PARAMETERS_BYTES = 96 * 1024


def _targets(tag_key: str, tag_value: str) -> list[dict[str, Any]]:
    return [{"Key": f"tag:{tag_key}", "Values": [tag_value]}]


def _output(s3_prefix: str | None) -> dict[str, str]:
    if not s3_prefix or not s3_prefix.startswith("s3://"):
        return {}
    bucket, _, key = s3_prefix.removeprefix("s3://").partition("/")
    return {"OutputS3BucketName": bucket, "OutputS3KeyPrefix": key.rstrip("/")}


def build_apply_playbooks_kwargs(
    bundle_uri: str,
    playbook: str,
    tag_key: str,
    tag_value: str,
    extra_vars: str = "",
    output_prefix: str | None = None,
    timeout_seconds: int = 3600,
) -> dict[str, Any]:
    """``AWS-ApplyAnsiblePlaybooks`` on the instances carrying the tag; bundle from S3."""
    return {
        "DocumentName": "AWS-ApplyAnsiblePlaybooks",
        "Targets": _targets(tag_key, tag_value),
        "Parameters": {
            "SourceType": ["S3"],
            "SourceInfo": [f'{{"path": "{_https_url(bundle_uri)}"}}'],
            "InstallDependencies": ["True"],
            "PlaybookFile": [playbook],
            "ExtraVariables": [extra_vars or "SSM=True"],
            "Check": ["False"],
            "Verbose": ["-v"],
            "TimeoutSeconds": [str(timeout_seconds)],
        },
        "TimeoutSeconds": 600,
        "Comment": "maestrops ansible",
        **_output(output_prefix),
    }


def _https_url(s3_uri: str) -> str:
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    return f"https://{bucket}.s3.amazonaws.com/{key}"


def build_shell_script_kwargs(
    script: Path,
    args: list[str],
    tag_key: str,
    tag_value: str,
    output_prefix: str | None = None,
    timeout_seconds: int = 900,
    bundle: bytes | None = None,
) -> dict[str, Any]:
    """``AWS-RunShellScript`` carrying a reviewed script file verbatim (quoted heredoc).

    ``bundle`` (the files the script deploys, a small tar.gz) travels in the command too, in
    base64, and reaches the script as ``--bundle FILE``: the host needs no read access to the
    run's artifacts. Both temporary files are removed whatever the script's outcome.
    """
    body = script.read_text()
    if HEREDOC_END in body:
        raise ValueError(f"{script} contains the heredoc terminator {HEREDOC_END}")
    quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in args)
    commands = [
        "set -eu",
        'tmp="$(mktemp)"',
        f"cat > \"$tmp\" <<'{HEREDOC_END}'\n{body.rstrip()}\n{HEREDOC_END}",
    ]
    run = f'bash "$tmp" {quoted}; rc=$?; rm -f "$tmp"; exit $rc'
    if bundle is not None:
        encoded = base64.encodebytes(bundle).decode().rstrip()
        commands += [
            'bundle="$(mktemp)"',
            f"base64 -d > \"$bundle\" <<'{HEREDOC_END}'\n{encoded}\n{HEREDOC_END}",
        ]
        run = f'bash "$tmp" --bundle "$bundle" {quoted}; rc=$?; rm -f "$tmp" "$bundle"; exit $rc'
    commands.append(run)
    kwargs = {
        "DocumentName": "AWS-RunShellScript",
        "Targets": _targets(tag_key, tag_value),
        "Parameters": {"commands": commands, "executionTimeout": [str(timeout_seconds)]},
        "Comment": "maestrops compose deploy",
        **_output(output_prefix),
    }
    size = len(json.dumps(kwargs["Parameters"]))
    if size > MAX_PARAMETERS_BYTES:
        raise ValueError(f"the deploy command is {size} bytes; SSM accepts {MAX_PARAMETERS_BYTES}")
    return kwargs


def tagged_instances(ec2, targets: list[dict[str, Any]]) -> list[str]:
    """The running instances that ``Targets`` (``tag:KEY`` = values) name, sorted."""
    filters = [{"Name": t["Key"], "Values": list(t["Values"])} for t in targets]
    filters.append({"Name": "instance-state-name", "Values": ["running"]})
    pages = ec2.get_paginator("describe_instances").paginate(Filters=filters)
    return sorted(
        instance["InstanceId"]
        for page in pages
        for reservation in page["Reservations"]
        for instance in reservation["Instances"]
    )


def run_command(
    ssm,
    kwargs: dict[str, Any],
    ec2=None,
    poll_seconds: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    max_polls: int = 720,
) -> tuple[str, str]:
    """Send the command to the hosts it targets and wait until each ended; returns
    (command id, the first failing host's status, else ``Success``).

    Tag targets become instance ids first (``NoInstances`` when none runs), so each host's
    invocation can be asked for by id with ``GetCommandInvocation``. The runner never
    calls ``ListCommands``: it returns every command's parameters, other runs' included.
    """
    if "Targets" in kwargs:
        if ec2 is None:
            import boto3  # lazy: only AWS runs reach here

            ec2 = boto3.client("ec2")
        instances = tagged_instances(ec2, kwargs["Targets"])
        if not instances:
            return "", "NoInstances"
        kwargs = {**{k: v for k, v in kwargs.items() if k != "Targets"}, "InstanceIds": instances}
    command_id = ssm.send_command(**kwargs)["Command"]["CommandId"]
    pending = list(kwargs["InstanceIds"])
    failed: list[str] = []
    for _ in range(max_polls):
        for instance in list(pending):
            status = _invocation_status(ssm, command_id, instance)
            if status in TERMINAL:
                pending.remove(instance)
                if status != "Success":
                    failed.append(status)
        if not pending:
            return command_id, failed[0] if failed else "Success"
        sleep(poll_seconds)
    return command_id, "TimedOut"


def _invocation_status(ssm, command_id: str, instance: str) -> str:
    from botocore.exceptions import ClientError

    try:
        return ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)["Status"]
    except ClientError as exc:
        # SSM creates the invocation a moment after SendCommand returns.
        if exc.response["Error"]["Code"] == "InvocationDoesNotExist":
            return "Pending"
        raise
