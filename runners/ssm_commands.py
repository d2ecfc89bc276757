"""SSM commands the runner sends itself: Ansible playbooks and the compose deploy script.

Pure ``build_*`` functions make the request; ``run_command`` sends it and waits. SSM's API
returns only the first 24,000 characters of output, so the full output goes to S3.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TERMINAL = {"Success", "Failed", "Cancelled", "TimedOut", "Cancelling"}
HEREDOC_END = "MAESTRO_SCRIPT_END"


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
) -> dict[str, Any]:
    """``AWS-RunShellScript`` carrying a reviewed script file verbatim (quoted heredoc)."""
    body = script.read_text()
    if HEREDOC_END in body:
        raise ValueError(f"{script} contains the heredoc terminator {HEREDOC_END}")
    quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in args)
    commands = [
        "set -eu",
        'tmp="$(mktemp)"',
        f"cat > \"$tmp\" <<'{HEREDOC_END}'\n{body.rstrip()}\n{HEREDOC_END}",
        f'bash "$tmp" {quoted}; rc=$?; rm -f "$tmp"; exit $rc',
    ]
    return {
        "DocumentName": "AWS-RunShellScript",
        "Targets": _targets(tag_key, tag_value),
        "Parameters": {"commands": commands, "executionTimeout": [str(timeout_seconds)]},
        "Comment": "maestrops compose deploy",
        **_output(output_prefix),
    }


def run_command(
    ssm,
    kwargs: dict[str, Any],
    poll_seconds: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    max_polls: int = 720,
) -> tuple[str, str]:
    """Send the command and wait for a terminal status; returns (command id, status)."""
    command_id = ssm.send_command(**kwargs)["Command"]["CommandId"]
    for _ in range(max_polls):
        status = ssm.list_commands(CommandId=command_id)["Commands"][0]["Status"]
        if status in TERMINAL:
            return command_id, status
        sleep(poll_seconds)
    return command_id, "TimedOut"
