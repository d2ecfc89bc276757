"""Load the JobSpec from a JSON file, an S3 URI, or the environment (CodeBuild/ECS overrides)."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from chalicelib.jobs import ENV_JOB, ENV_JOB_URI, JobSpec
from runners.exceptions import JobLoadError


def load_job(source: str | None, env: Mapping[str, str] | None = None, s3_client=None) -> JobSpec:
    """Read the job from ``source`` (path or s3:// URI) or, when it is None or "env", the env."""
    env = os.environ if env is None else env
    if source in (None, "env"):
        if env.get(ENV_JOB):
            return _parse(base64.b64decode(env[ENV_JOB]), "environment")
        if env.get(ENV_JOB_URI):
            source = env[ENV_JOB_URI]
        else:
            raise JobLoadError(f"no job given: pass --job or set {ENV_JOB} / {ENV_JOB_URI}")
    if source.startswith("s3://"):
        return _parse(_read_s3(source, s3_client), source)
    try:
        return _parse(Path(source).read_bytes(), source)
    except OSError as exc:
        raise JobLoadError(f"cannot read job file {source}: {exc}") from exc


def _parse(data: bytes, origin: str) -> JobSpec:
    try:
        return JobSpec.model_validate_json(data)
    except ValidationError as exc:
        raise JobLoadError(f"invalid job from {origin}: {exc}") from exc


def _read_s3(uri: str, s3_client) -> bytes:
    import boto3  # lazy: local runs that read files never pay for it

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    client = s3_client or boto3.client("s3")
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()
