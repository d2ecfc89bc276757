"""A small client of the runs API: SigV4-signed against AWS, bearer token locally."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlparse


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status


class RunsApiClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 15.0) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def list_runs(self, **filters: Any) -> dict[str, Any]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self._get("/runs" + (f"?{urlencode(params)}" if params else ""))

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self._get(f"/runs/{run_id}")

    def costs(self, repo: str, pipeline: str, limit: int) -> dict[str, Any]:
        query = urlencode({"repo": repo, "pipeline": pipeline, "limit": limit})
        return self._get(f"/costs?{query}")

    def retry_run(self, run_id: str) -> dict[str, Any]:
        return self._send("POST", f"/runs/{run_id}/retry")

    def cancel_run(self, run_id: str) -> dict[str, Any]:
        return self._send("POST", f"/runs/{run_id}/cancel")

    def resolve_run(self, run_id: str, outcome: str) -> dict[str, Any]:
        return self._send("POST", f"/runs/{run_id}/resolve", {"as": outcome})

    def _get(self, path: str) -> dict[str, Any]:
        return self._send("GET", path)

    def _send(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        url = self._base + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None or method == "POST":
            headers["Content-Type"] = "application/json"
            data = data or b"{}"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        elif _is_aws(url):
            headers.update(_sigv4_headers(method, url, data))
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, _error_message(exc.read())) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(0, f"cannot reach {self._base}: {exc}") from None


def _is_aws(url: str) -> bool:
    return (urlparse(url).hostname or "").endswith(".amazonaws.com")


def _sigv4_headers(method: str, url: str, data: bytes | None = None) -> dict[str, str]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise ApiError(0, "no AWS credentials to sign the request (set a profile or a token)")
    request = AWSRequest(method=method, url=url, data=data)
    region = session.region_name or urlparse(url).hostname.split(".")[2]  # type: ignore[union-attr]
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return dict(request.headers)


def _error_message(body: bytes) -> str:
    try:
        error = json.loads(body).get("error", {})
        return f"{error.get('code')}: {error.get('message')}"
    except (ValueError, AttributeError):
        return body.decode(errors="replace")[:200]
