"""A fake GitHub API on loopback that checks every request against GitHub's OpenAPI description.

It keeps just enough state for the adapter's calls (files at commits, issue comments,
statuses, check runs, collaborators, reactions, installation tokens) and answers like GitHub.
Every request is first checked by ``OpenApiChecker``; violations are collected and the
``fake_github`` fixture fails the test that caused them.

It also plays GitHub's OAuth web flow for the run pages' sign-in (``/login/oauth/authorize``
and ``/login/oauth/access_token``, which the REST description does not cover: checked
against GitHub's documented parameters instead), then ``GET /user`` and
``GET /repos/{owner}/{repo}`` with the user's token, whose ``permissions`` come from the
same ``permissions`` table as the collaborator-permission call.

Failures (5xx, rate limits) can be queued to exercise the client's retries.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .openapi_check import OpenApiChecker, check_minimize_comment


def app_key_pair() -> tuple[str, str]:
    """A GitHub App's key pair as PEM text (private, public): the controller signs its JWTs
    with the first, the fake GitHub checks them with the second."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@dataclass
class Injected:
    """A canned answer for the next request whose ``METHOD path`` matches ``pattern``."""

    pattern: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=lambda: {"message": "injected"})


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None


class FakeGitHub:
    def __init__(self, checker: OpenApiChecker, *, app_id: str, app_public_key: str) -> None:
        self.checker = checker
        self.app_id, self.app_public_key = app_id, app_public_key
        self.violations: list[str] = []
        self.requests: list[Recorded] = []
        self.injected: deque[Injected] = deque()
        self.files: dict[tuple[str, str, str], str] = {}
        self.commits: set[tuple[str, str]] = set()
        self.comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.check_runs: list[dict[str, Any]] = []
        self.permissions: dict[tuple[str, str], dict[str, str]] = {}
        self.reactions: list[tuple[int, str]] = []
        self.minimized: list[str] = []
        self.personal_tokens: set[str] = set()
        self.installation_tokens: dict[str, int] = {}  # token -> installation id
        self.token_expiry = "2026-11-26T09:00:00Z"
        # OAuth web flow: client id -> (secret, callback URL); who is signed in to GitHub in
        # "the browser"; codes waiting to be exchanged; user tokens -> login.
        self.oauth_apps: dict[str, tuple[str, str]] = {}
        self.browser_login: str | None = None
        self.oauth_codes: dict[str, tuple[str, str, str]] = {}  # code -> client, login, uri
        self.user_tokens: dict[str, str] = {}
        self.oauth_violations: list[str] = []
        self._caller = threading.local()  # the request's Authorization, for the user calls
        self.installation_permissions = {"contents": "write", "statuses": "write"}
        self.token_scopes: dict[str, dict[str, Any]] = {}  # token -> what it was granted
        # A misbehaving GitHub's answer to a request for a repository-scoped token.
        self.grant_override: dict[str, Any] | None = None
        self._next_id = 1000
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- test helpers ----------------------------------------------------------------------
    def add_commit(self, repo: str, sha: str, files: dict[str, str] | None = None) -> None:
        self.commits.add((repo, sha))
        for path, text in (files or {}).items():
            self.files[(repo, sha, path)] = text

    def thread_bodies(self, repo: str, pr: int) -> list[str]:
        return [c["body"] for c in self.comments.get((repo, pr), [])]

    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    # -- request handling ------------------------------------------------------------------
    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(raw_path)
        path, query = unquote(parts.path), parse_qs(parts.query, keep_blank_values=True)
        if path.startswith("/login/oauth/"):
            self.requests.append(Recorded(method, path, query, None, None))
            return self._web_flow(method, path, query, headers, body)
        parsed = json.loads(body) if body else None
        self.requests.append(Recorded(method, path, query, parsed, headers.get("authorization")))
        if path == "/graphql":
            problems, node_id = check_minimize_comment(body)
        else:
            problems, node_id = self.checker.check(method, path, query, body or None), None
        problems += _header_problems(method, path, headers)
        self.violations += problems
        if problems:
            return 422, {}, {"message": "Validation Failed", "errors": problems}
        for index, canned in enumerate(self.injected):
            if re.search(canned.pattern, f"{method} {path}"):
                del self.injected[index]
                return canned.status, canned.headers, canned.body
        auth_error = self._check_auth(path, headers.get("authorization", ""))
        if auth_error:
            return 401, {}, {"message": auth_error}
        if path == "/graphql":
            return self._minimize(node_id or "")
        self._caller.authorization = headers.get("authorization", "")
        return self._route(method, path, query, parsed)

    def _check_auth(self, path: str, authorization: str) -> str | None:
        _scheme, _, credential = authorization.partition(" ")
        if path.startswith("/app/"):
            try:
                # Signature checked for real; times checked below against each other, because
                # the tests run on an injected clock, not the wall clock.
                claims = jwt.decode(
                    credential,
                    self.app_public_key,
                    algorithms=["RS256"],
                    options={
                        "verify_exp": False,
                        "verify_iat": False,
                        "require": ["iat", "exp", "iss"],
                    },
                )
            except jwt.PyJWTError as exc:
                return f"A JSON web token could not be decoded: {exc}"
            if claims.get("iss") != self.app_id or claims["exp"] - claims["iat"] > 600:
                return "'Issuer' claim or lifetime is wrong"
            return None
        if (
            credential in self.installation_tokens
            or credential in self.personal_tokens
            or credential in self.user_tokens
        ):
            return None
        return "Bad credentials"

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, dict[str, str], Any]:
        for pattern, verb, handler in ROUTES:
            found = re.fullmatch(pattern, path)
            if found and verb == method:
                return handler(self, *found.groups(), query=query, body=body)
        self.violations.append(
            f"{method} {path}: allowed by GitHub but not implemented by the fake"
        )
        return 501, {}, {"message": "not implemented"}

    # -- endpoints -------------------------------------------------------------------------
    def _access_token(
        self, installation: str, *, body: Any = None, **_: Any
    ) -> tuple[int, dict[str, str], Any]:
        """Like GitHub: the token has the permissions asked for (else the installation's) and
        the repositories named (else all); ``token_scopes`` keeps what each token got."""
        token = f"ghs_fake{self.new_id()}"
        self.installation_tokens[token] = int(installation)
        asked = body or {}
        permissions = asked.get("permissions") or dict(self.installation_permissions)
        answer: dict[str, Any] = {
            "token": token,
            "expires_at": self.token_expiry,
            "permissions": permissions,
            "repository_selection": "selected" if "repositories" in asked else "all",
        }
        if "repositories" in asked:
            answer["repositories"] = [{"name": name} for name in asked["repositories"]]
        self.token_scopes[token] = {
            "permissions": permissions,
            "repositories": asked.get("repositories"),
        }
        scoped = "repositories" in asked
        return 201, {}, (self.grant_override if scoped and self.grant_override else answer)

    def _contents(self, owner: str, repo: str, path: str, *, query: dict[str, list[str]], **_: Any):
        key = (f"{owner}/{repo}", query.get("ref", [""])[0], path)
        if key in self.files:
            return 200, {"content-type": "application/vnd.github.raw"}, self.files[key].encode()
        return 404, {}, {"message": "Not Found"}

    def _commit(self, owner: str, repo: str, sha: str, **_: Any):
        if (f"{owner}/{repo}", sha) in self.commits:
            return 200, {}, {"sha": sha}
        return 422, {}, {"message": f"No commit found for SHA: {sha}"}

    def _list_comments(
        self, owner: str, repo: str, issue: str, *, query: dict[str, list[str]], **_: Any
    ):
        items = self.comments.get((f"{owner}/{repo}", int(issue)), [])
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        return 200, {}, items[(page - 1) * per_page : page * per_page]

    def _create_comment(self, owner: str, repo: str, issue: str, *, body: Any, **_: Any):
        comment_id = self.new_id()
        comment = {"id": comment_id, "node_id": f"IC_kw{comment_id}", "body": body["body"]}
        self.comments.setdefault((f"{owner}/{repo}", int(issue)), []).append(comment)
        return 201, {}, comment

    def _find_comment(self, repo: str, comment_id: int) -> tuple[list[dict[str, Any]], int] | None:
        for (name, _), items in self.comments.items():
            for index, item in enumerate(items):
                if name == repo and item["id"] == comment_id:
                    return items, index
        return None

    def _update_comment(self, owner: str, repo: str, comment_id: str, *, body: Any, **_: Any):
        found = self._find_comment(f"{owner}/{repo}", int(comment_id))
        if found is None:
            return 404, {}, {"message": "Not Found"}
        items, index = found
        items[index]["body"] = body["body"]
        return 200, {}, items[index]

    def _delete_comment(self, owner: str, repo: str, comment_id: str, **_: Any):
        found = self._find_comment(f"{owner}/{repo}", int(comment_id))
        if found is None:
            return 404, {}, {"message": "Not Found"}
        items, index = found
        del items[index]
        return 204, {}, None

    def _reaction(self, owner: str, repo: str, comment_id: str, *, body: Any, **_: Any):
        self.reactions.append((int(comment_id), body["content"]))
        return 201, {}, {"id": self.new_id(), "content": body["content"]}

    def _status(self, owner: str, repo: str, sha: str, *, body: Any, **_: Any):
        self.statuses.append({"repo": f"{owner}/{repo}", "sha": sha, **body})
        return 201, {}, {"id": self.new_id(), **body}

    def _list_statuses(self, owner: str, repo: str, sha: str, **_: Any):
        mine = [s for s in self.statuses if s["repo"] == f"{owner}/{repo}" and s["sha"] == sha]
        return (
            200,
            {},
            [{k: v for k, v in s.items() if k not in ("repo", "sha")} for s in reversed(mine)],
        )

    def _list_check_runs(
        self, owner: str, repo: str, sha: str, *, query: dict[str, list[str]], **_: Any
    ):
        name = query.get("check_name", [None])[0]
        runs = [
            r
            for r in reversed(self.check_runs)
            if r["repo"] == f"{owner}/{repo}" and r["head_sha"] == sha and name in (None, r["name"])
        ]
        return 200, {}, {"total_count": len(runs), "check_runs": runs}

    def _check_run(self, owner: str, repo: str, *, body: Any, **_: Any):
        self.check_runs.append({"repo": f"{owner}/{repo}", **body})
        return 201, {}, {"id": self.new_id(), **body}

    def _permission(self, owner: str, repo: str, user: str, **_: Any):
        permission = self.permissions.get((f"{owner}/{repo}", user))
        if permission is None:
            return 404, {}, {"message": f"{user} is not a user"}
        return 200, {}, {**permission, "user": {"login": user}}

    # -- OAuth web flow (docs.github.com: "Authorizing OAuth apps", "Generating a user access
    # token for a GitHub App") -------------------------------------------------------------
    def _web_flow(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, dict[str, str], Any]:  # fmt: skip
        if path == "/login/oauth/authorize" and method == "GET":
            return self._authorize(query, headers.get("cookie", ""))
        if path == "/login/oauth/access_token" and method == "POST":
            return self._exchange(headers, body)
        self.oauth_violations.append(f"{method} {path}: not part of GitHub's web flow")
        return 404, {}, {"message": "Not Found"}

    def _authorize(
        self, query: dict[str, list[str]], cookie: str = ""
    ) -> tuple[int, dict[str, str], Any]:
        """GitHub's consent, granted at once for whoever is signed in to GitHub: the browser's
        ``fake_github_user`` cookie (one browser context per user), else ``browser_login``."""
        documented = {"client_id", "redirect_uri", "login", "scope", "state", "allow_signup",
                      "prompt", "code_challenge", "code_challenge_method"}  # fmt: skip
        unknown = set(query) - documented
        if unknown:
            self.oauth_violations.append(f"authorize: undocumented parameters {sorted(unknown)}")
        client = query.get("client_id", [""])[0]
        if client not in self.oauth_apps:
            return 404, {"content-type": "text/html"}, b"<h1>404</h1>"
        callback = self.oauth_apps[client][1]
        redirect_uri = query.get("redirect_uri", [callback])[0]
        if not redirect_uri.startswith(callback):
            # GitHub shows its redirect_uri_mismatch error page, and does not redirect
            return 400, {"content-type": "text/html"}, b"<h1>redirect_uri mismatch</h1>"
        jar = dict(part.strip().partition("=")[::2] for part in cookie.split(";") if "=" in part)
        login = jar.get("fake_github_user") or self.browser_login
        if login is None:
            return 403, {"content-type": "text/html"}, b"<h1>Sign in to GitHub</h1>"
        code = f"code{self.new_id()}"
        self.oauth_codes[code] = (client, login, redirect_uri)
        answer = {"code": code}
        if "state" in query:
            answer["state"] = query["state"][0]
        return 302, {"location": f"{redirect_uri}?{urlencode(answer)}"}, b""

    def _exchange(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        kind = headers.get("content-type", "")
        if kind.startswith("application/json"):
            fields = {k: str(v) for k, v in (json.loads(body or b"{}")).items()}
        else:
            fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        for required in ("client_id", "client_secret", "code"):
            if required not in fields:
                self.oauth_violations.append(f"access_token: {required} is required")
        if headers.get("accept") != "application/json":
            self.oauth_violations.append("access_token: ask for JSON (Accept)")
        client = fields.get("client_id", "")
        if self.oauth_apps.get(client, ("",))[0] != fields.get("client_secret") or not client:
            return 200, {}, _oauth_error("incorrect_client_credentials")
        found = self.oauth_codes.pop(fields.get("code", ""), None)  # a code is used once
        if found is None or found[0] != client:
            return 200, {}, _oauth_error("bad_verification_code")
        if "redirect_uri" in fields and fields["redirect_uri"] != found[2]:
            return 200, {}, _oauth_error("redirect_uri_mismatch")
        token = f"ghu_fake{self.new_id()}"
        self.user_tokens[token] = found[1]
        return 200, {}, {"access_token": token, "token_type": "bearer", "scope": ""}

    def _user(self, **_: Any):
        login = self.user_tokens.get(self._caller.authorization.partition(" ")[2])
        if login is None:
            return 403, {}, {"message": "Resource not accessible by integration"}
        return 200, {}, {"login": login, "id": abs(hash(login)) % 10**7, "type": "User"}

    def _repository(self, owner: str, repo: str, **_: Any):
        name = f"{owner}/{repo}"
        login = self.user_tokens.get(self._caller.authorization.partition(" ")[2])
        role = (self.permissions.get((name, login or "")) or {}).get("role_name", "none")
        rank = ("none", "read", "triage", "write", "maintain", "admin").index(role)
        if login is None or rank == 0:
            return 404, {}, {"message": "Not Found"}  # private: GitHub hides it
        flags = {"pull": rank >= 1, "triage": rank >= 2, "push": rank >= 3,
                 "maintain": rank >= 4, "admin": rank >= 5}  # fmt: skip
        return 200, {}, {"id": self.new_id(), "name": repo, "full_name": name,
                         "private": True, "permissions": flags}  # fmt: skip

    def _minimize(self, node_id: str) -> tuple[int, dict[str, str], Any]:
        self.minimized.append(node_id)
        return 200, {}, {"data": {"minimizeComment": {"minimizedComment": {"isMinimized": True}}}}


API_VERSION = "2022-11-28"  # the REST API version the description documents


OAUTH_ERRORS_DOC = (
    "https://docs.github.com/apps/oauth-apps/maintaining-oauth-apps/"
    "troubleshooting-oauth-app-access-token-request-errors"
)


def _oauth_error(code: str) -> dict[str, str]:
    """GitHub answers a refused exchange with 200 and these fields."""
    return {
        "error": code,
        "error_description": code.replace("_", " "),
        "error_uri": f"{OAUTH_ERRORS_DOC}#{code.replace('_', '-')}",
    }


def _header_problems(method: str, path: str, headers: dict[str, str]) -> list[str]:
    """GitHub refuses requests without a User-Agent; the API version should be pinned."""
    problems = []
    if not headers.get("user-agent"):
        problems.append(f"{method} {path}: no User-Agent header")
    if headers.get("x-github-api-version") != API_VERSION:
        problems.append(f"{method} {path}: X-GitHub-Api-Version is not {API_VERSION}")
    return problems


_REPO = r"/repos/([^/]+)/([^/]+)"
ROUTES = [
    (r"/app/installations/(\d+)/access_tokens", "POST", FakeGitHub._access_token),
    (_REPO + r"/contents/(.+)", "GET", FakeGitHub._contents),
    (_REPO + r"/commits/([^/]+)", "GET", FakeGitHub._commit),
    (_REPO + r"/commits/([^/]+)/statuses", "GET", FakeGitHub._list_statuses),
    (_REPO + r"/commits/([^/]+)/check-runs", "GET", FakeGitHub._list_check_runs),
    (_REPO + r"/issues/(\d+)/comments", "GET", FakeGitHub._list_comments),
    (_REPO + r"/issues/(\d+)/comments", "POST", FakeGitHub._create_comment),
    (_REPO + r"/issues/comments/(\d+)", "PATCH", FakeGitHub._update_comment),
    (_REPO + r"/issues/comments/(\d+)", "DELETE", FakeGitHub._delete_comment),
    (_REPO + r"/issues/comments/(\d+)/reactions", "POST", FakeGitHub._reaction),
    (_REPO + r"/statuses/([^/]+)", "POST", FakeGitHub._status),
    (_REPO + r"/check-runs", "POST", FakeGitHub._check_run),
    (_REPO + r"/collaborators/([^/]+)/permission", "GET", FakeGitHub._permission),
    (r"/user", "GET", FakeGitHub._user),
    (_REPO, "GET", FakeGitHub._repository),
]


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = fake.handle(self.command, self.path, headers, body)
            data = (
                payload
                if isinstance(payload, bytes)
                else b""
                if payload is None
                else json.dumps(payload).encode()
            )
            self.send_response(status)
            extra = {"content-type": "application/json", **extra}
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _any

        def log_message(self, format: str, *args: Any) -> None:
            return None  # quiet test output

    return Handler
