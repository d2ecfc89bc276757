"""Reads run artifacts back (plan JSON, cost block) for feedback: S3 in AWS, files locally."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

MAX_ARTIFACT_BYTES = 64 * 1024 * 1024  # a plan bigger than this is linked, never loaded


class ArtifactReader:
    def __init__(self, s3_client: Any = None) -> None:
        self._s3 = s3_client

    def read_bytes(self, uri: str) -> bytes | None:
        """The artifact's content, or ``None`` when it is missing or too large to load."""
        parsed = urlparse(uri)
        if parsed.scheme == "file":
            path = Path(parsed.path)
            if not path.is_file() or path.stat().st_size > MAX_ARTIFACT_BYTES:
                return None
            return path.read_bytes()
        if parsed.scheme == "s3":
            return self._read_s3(parsed.netloc, parsed.path.lstrip("/"))
        return None

    def _read_s3(self, bucket: str, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        try:
            head = self._s3.head_object(Bucket=bucket, Key=key)
            if head["ContentLength"] > MAX_ARTIFACT_BYTES:
                return None
            return self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError:
            return None

    def presigned_url(self, uri: str, seconds: int = 3600) -> str | None:
        parsed = urlparse(uri)
        if parsed.scheme != "s3":
            return None
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return str(
            self._s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": parsed.netloc, "Key": parsed.path.lstrip("/")},
                ExpiresIn=seconds,
            )
        )
