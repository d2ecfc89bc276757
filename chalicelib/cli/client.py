"""A small client of the runs API (SigV4-signed against AWS, bearer token locally) and of the
webhook endpoint (signed like GitHub signs)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode, urlparse

WEBHOOK_PATH = "/webhooks/github"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


class ApiError(Exception):
    """An answer the API refused, or no answer. ``status`` 0: the API was not reached."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.code = code


class RunsApiClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 15.0) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def list_runs(self, **filters: Any) -> dict[str, Any]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self._get("/runs" + (f"?{urlencode(params)}" if params else ""))

    def iter_runs(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every run matching ``filters``, newest first, following ``next_cursor`` to the end."""
        cursor = filters.pop("cursor", None)
        while True:
            page = self.list_runs(**filters, cursor=cursor)
            yield from page["runs"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self._get(f"/runs/{_segment(run_id)}")

    def costs(self, repo: str, pipeline: str, limit: int) -> dict[str, Any]:
        query = urlencode({"repo": repo, "pipeline": pipeline, "limit": limit})
        return self._get(f"/costs?{query}")

    def retry_run(self, run_id: str) -> dict[str, Any]:
        return self._send("POST", f"/runs/{_segment(run_id)}/retry")

    def cancel_run(self, run_id: str) -> dict[str, Any]:
        return self._send("POST", f"/runs/{_segment(run_id)}/cancel")

    def resolve_run(self, run_id: str, outcome: str) -> dict[str, Any]:
        return self._send("POST", f"/runs/{_segment(run_id)}/resolve", {"as": outcome})

    def _get(self, path: str) -> dict[str, Any]:
        return self._send("GET", path)

    def _send(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        url = self._base + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": JSON}
        if data is not None or method == "POST":
            headers["Content-Type"] = JSON
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
            code, message = _error_of(exc.read())
            raise ApiError(exc.code, message, code) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(0, f"cannot reach {self._base}: {exc}") from None


def webhook_url(url: str) -> str:
    """The webhook endpoint from the controller's base URL or from the endpoint itself (what
    ``maestro serve`` prints): ``http://h:8000`` and ``http://h:8000/webhooks/github`` alike."""
    url = url.rstrip("/")
    return url if url.endswith(WEBHOOK_PATH) else url + WEBHOOK_PATH


def post_webhook(
    url: str, event: str, body: bytes, secret: str, delivery: str, form: bool = False
) -> tuple[int, str]:
    """Sign ``body`` as GitHub does and post it; ``form``: as GitHub's form content type
    (``payload=<json>``), signed over the form body. Returns the status and the answer."""
    from chalicelib.events.signature import sign

    data = urlencode({"payload": body.decode()}).encode() if form else body
    request = urllib.request.Request(
        webhook_url(url),
        data=data,
        method="POST",
        headers={
            "Content-Type": FORM if form else JSON,
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(secret.encode(), data),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, OSError) as exc:
        raise ApiError(0, f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None


def _segment(value: str) -> str:
    return quote(value, safe="")


def _is_aws(url: str) -> bool:
    return (urlparse(url).hostname or "").endswith(".amazonaws.com")


def _sigv4_headers(method: str, url: str, data: bytes | None = None) -> dict[str, str]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise ApiError(
            401,
            "no AWS credentials to sign the request (set a profile or a token)",
            "no_credentials",
        )
    request = AWSRequest(method=method, url=url, data=data)
    region = session.region_name or urlparse(url).hostname.split(".")[2]  # type: ignore[union-attr]
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return dict(request.headers)


def _error_of(body: bytes) -> tuple[str | None, str]:
    """The API's ``{"error": {code, message}}``, or the start of whatever else came back."""
    try:
        error = json.loads(body).get("error", {})
        return error.get("code"), f"{error.get('code')}: {error.get('message')}"
    except (ValueError, AttributeError):
        return None, body.decode(errors="replace")[:200]
