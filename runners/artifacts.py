"""The run's artifact store: an ``s3://`` prefix (AWS, or moto via AWS_ENDPOINT_URL) or ``file://``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse


class ArtifactStore(Protocol):
    prefix: str

    def put_file(self, name: str, path: Path) -> str:
        """Store a file under ``name`` (relative to the prefix); returns its URI."""

    def put_bytes(self, name: str, data: bytes) -> str:
        """Store bytes under ``name``; returns its URI."""

    def get_file(self, uri: str, dest: Path) -> Path:
        """Fetch any artifact URI of the same kind (another run's too) to ``dest``."""


def _join(prefix: str, name: str) -> str:
    return prefix.rstrip("/") + "/" + name.lstrip("/")


class FileArtifactStore:
    """``file:///dir/`` prefixes: local mode copies artifacts into a directory."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @staticmethod
    def _path(uri: str) -> Path:
        return Path(unquote(urlparse(uri).path))

    def put_file(self, name: str, path: Path) -> str:
        uri = _join(self.prefix, name)
        target = self._path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        return uri

    def put_bytes(self, name: str, data: bytes) -> str:
        """Written under a temporary name, then renamed: a reader of a log chunk while the
        step runs sees no file or the whole one, as with S3."""
        uri = _join(self.prefix, name)
        target = self._path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return uri

    def get_file(self, uri: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._path(uri), dest)
        return dest


class S3ArtifactStore:
    """``s3://bucket/key/`` prefixes; the client honours AWS_ENDPOINT_URL (moto in local mode)."""

    def __init__(self, prefix: str, client=None) -> None:
        import boto3  # lazy: file-only runs never import it

        self.prefix = prefix
        self._s3 = client or boto3.client("s3")

    @staticmethod
    def _split(uri: str) -> tuple[str, str]:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return bucket, key

    def put_file(self, name: str, path: Path) -> str:
        uri = _join(self.prefix, name)
        self._s3.upload_file(str(path), *self._split(uri))
        return uri

    def put_bytes(self, name: str, data: bytes) -> str:
        uri = _join(self.prefix, name)
        bucket, key = self._split(uri)
        self._s3.put_object(Bucket=bucket, Key=key, Body=data)
        return uri

    def get_file(self, uri: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._s3.download_file(*self._split(uri), str(dest))
        return dest


def store_for(prefix: str, s3_client=None) -> ArtifactStore:
    """The store that serves ``prefix``."""
    if prefix.startswith("file://"):
        return FileArtifactStore(prefix)
    if prefix.startswith("s3://"):
        return S3ArtifactStore(prefix, s3_client)
    raise ValueError(f"unsupported artifact prefix {prefix!r}: use s3:// or file://")


def sibling_prefix(prefix: str, run_id: str, other_run_id: str) -> str:
    """The prefix of another run laid out like this one (``.../runs/<run_id>/``)."""
    trimmed = prefix.rstrip("/")
    if not trimmed.endswith("/" + run_id):
        raise ValueError(f"artifact prefix {prefix!r} does not end with the run id {run_id!r}")
    return trimmed[: -len(run_id)] + other_run_id + "/"
