"""Reads run artifacts back (plan JSON, cost block, step log chunks): S3 in AWS, files locally."""

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

    def read_small(self, uri: str, limit: int) -> bytes | None:
        """An artifact known to be small (a log chunk, a marker): one request, no size probe.

        ``None`` when it is missing or larger than ``limit``; a log chunk is never loaded
        past what the runner may write.
        """
        parsed = urlparse(uri)
        if parsed.scheme == "file":
            try:
                with open(parsed.path, "rb") as handle:
                    data = handle.read(limit + 1)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                return None
            return data if len(data) <= limit else None
        if parsed.scheme != "s3":
            return None
        from botocore.exceptions import ClientError

        try:
            body = self._client().get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
        except ClientError:
            return None
        if body["ContentLength"] > limit:
            return None
        return body["Body"].read()

    def child_names(self, uri: str) -> list[str]:
        """The names directly under the folder ``uri`` (S3: its common prefixes and keys)."""
        parsed = urlparse(uri)
        if parsed.scheme == "file":
            folder = Path(parsed.path)
            return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        if parsed.scheme != "s3":
            return []
        from botocore.exceptions import ClientError

        prefix = parsed.path.lstrip("/").rstrip("/") + "/"
        names: set[str] = set()
        pages = self._client().get_paginator("list_objects_v2")
        try:
            for page in pages.paginate(Bucket=parsed.netloc, Prefix=prefix, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    names.add(common["Prefix"][len(prefix) :].rstrip("/"))
                for item in page.get("Contents", []):
                    names.add(item["Key"][len(prefix) :])
        except ClientError:
            return []  # a listing refused (no such bucket, no permission): what the run knows
        return sorted(name for name in names if name)

    def _client(self) -> Any:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

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
