"""The run pages under ``/ui/`` (docs/pages.md): server-rendered HTML behind GitHub sign-in.

Every page needs a session cookie (``pages/session.py``); every POST needs the session's
CSRF token. What a user sees and may do is GitHub's answer for that user
(``pages/access.py``). Actions go through the same flows as the API: ``flows/operations``
for runs, the lock gate and the dispatcher for a release, ``flows/logs.read_logs`` for logs.
The runs API's own IAM/bearer auth is untouched: these routes are apart from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from chalice import Blueprint, Response

from chalicelib.api.errors import error_response, json_response, response_for
from chalicelib.services import get_services

pages_api = Blueprint(__name__)
FORM = ["application/x-www-form-urlencoded"]
MAX_FORM_BYTES = 8192
Handler = Callable[..., Response]


class _Request:
    """One page request: the session it carries (or none) and what it may see."""

    def __init__(self, request: Any) -> None:
        from chalicelib.pages.access import Access, level_from_permissions
        from chalicelib.pages.session import SESSION_COOKIE, open_session, read_cookies

        self.services = services = get_services()
        self.request = request
        self.now = time.time()
        self.cookies = read_cookies((request.headers or {}).get("cookie"))
        self.key = services.session_key()
        self.session = open_session(self.key, self.cookies.get(SESSION_COOKIE), self.now)
        oauth = services.oauth

        def ask(token: str, repo: str) -> str:
            if oauth is None:
                return "none"
            return level_from_permissions(oauth.repository_permissions(token, repo))

        self.access = Access(self.session, ask, services.permission_cache) if self.session else None

    @property
    def secure(self) -> bool:
        from chalicelib.pages.session import secure_cookies

        return secure_cookies(self.services.settings.public_url)

    @property
    def base(self) -> str:
        from chalicelib.pages.session import base_path

        return base_path(self.services.settings.public_url)

    def cookie(self, name: str, value: str, max_age: int) -> str:
        from chalicelib.pages.session import set_cookie

        return set_cookie(name, value, max_age, self.secure, f"{self.base}/ui")

    def forget(self, name: str) -> str:
        from chalicelib.pages.session import clear_cookie

        return clear_cookie(name, self.secure, f"{self.base}/ui")

    def form(self) -> dict[str, str]:
        raw = self.request.raw_body or b""
        if len(raw) > MAX_FORM_BYTES:
            return {}
        try:
            fields = parse_qs(raw.decode(), max_num_fields=20, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            return {}
        return {name: values[0] for name, values in fields.items()}

    def csrf_ok(self) -> bool:
        """The session's token in the form, and, when the browser says where the form came
        from, our own origin."""
        from chalicelib.pages.session import same_token

        if self.session is None:
            return False
        origin = (self.request.headers or {}).get("origin")
        if origin is not None and origin != _origin(self.services.settings.public_url):
            return False
        return same_token(self.session.csrf, self.form().get("csrf"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def html(page: _Request, template: str, status: int = 200, /, **context: Any) -> Response:
    from chalicelib.pages.render import render, security_headers

    settings = page.services.settings
    session = page.session
    context.setdefault("message", None)
    context.setdefault("section", None)
    body = render(
        template,
        user=session.login if session else None,
        csrf=session.csrf if session else "",
        base=page.base,
        **context,
    )
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        **security_headers(settings.github_web_url),
    }
    return Response(body=body, status_code=status, headers=headers)


def redirect(page: _Request, location: str, cookies: list[str] | None = None) -> Response:
    """A 303 to ``location``: one of our pages (``/ui/...``, under the stage's path) or
    GitHub's authorize URL."""
    from chalicelib.pages.render import security_headers

    target = page.base + location if location.startswith("/ui/") else location
    headers: dict[str, str | list[str]] = {
        "Location": target,
        **security_headers(page.services.settings.github_web_url),
    }
    if cookies:
        headers["Set-Cookie"] = cookies
    return Response(body="", status_code=303, headers=headers)


def error_page(page: _Request, exc: Exception) -> Response:
    from chalicelib.errors import ControllerError

    if not isinstance(exc, ControllerError):
        raise exc
    title = "Not found" if exc.status == 404 else "That did not work"
    return html(page, "error.html", exc.status, title=title, detail=str(exc))


def signed_in(handler: Handler) -> Handler:
    """Pages for signed-in users: anyone else goes to the sign-in page, and comes back."""

    def wrapped(**params: Any) -> Response:
        page = _Request(pages_api.current_request)
        if page.session is None:
            target = urlencode({"next": _asked_path(pages_api.current_request)})
            return redirect(page, f"/ui/login?{target}")
        try:
            return handler(page, **params)
        except Exception as exc:  # domain errors become a page; others propagate
            return error_page(page, exc)

    wrapped.__name__ = handler.__name__
    return wrapped


def state_changing(handler: Handler) -> Handler:
    """A POST: signed in, with the session's CSRF token, else refused."""

    def wrapped(**params: Any) -> Response:
        page = _Request(pages_api.current_request)
        if page.session is None:
            return html(page, "error.html", 401, title="Signed out", detail="Sign in again.")
        if not page.csrf_ok():
            detail = "The form is stale or did not come from these pages: reload and try again."
            return html(page, "error.html", 403, title="Refused", detail=detail)
        try:
            return handler(page, **params)
        except Exception as exc:
            return error_page(page, exc)

    wrapped.__name__ = handler.__name__
    return wrapped


# -- pages ------------------------------------------------------------------------------------


@pages_api.route("/ui/runs", methods=["GET"])
@signed_in
def runs_page(page: _Request) -> Response:
    from pydantic import ValidationError

    from chalicelib.pages.views import runs_page as view
    from chalicelib.pages.views import runs_query
    from chalicelib.runs.query import PIPELINES, STATUSES

    params: dict[str, str] = dict(pages_api.current_request.query_params or {})
    choices: dict[str, Any] = {"pipelines": sorted(PIPELINES), "statuses": sorted(STATUSES)}
    assert page.access is not None
    try:
        query = runs_query(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        filters = {name: "" for name in ("repo", "pipeline", "status", "branch", "pr")}
        context: dict[str, Any] = {
            "runs": [], "filters": filters, "next_url": None, "filtered": True
        }  # fmt: skip
        return html(
            page, "runs.html", 400, title="Runs", section="runs", message=message,
            **context, **choices,
        )  # fmt: skip
    context = view(page.services.store, page.access, query)
    return html(page, "runs.html", title="Runs", section="runs", **context, **choices)


@pages_api.route("/ui/runs/{run_id}", methods=["GET"])
@signed_in
def run_page(page: _Request, run_id: str) -> Response:
    from chalicelib.flows.logs import read_logs
    from chalicelib.flows.operations import RETRYABLE
    from chalicelib.pages.views import readable_run
    from chalicelib.pages.views import run_page as view
    from chalicelib.store.artifacts import ArtifactReader

    assert page.access is not None
    run = readable_run(page.services.store, page.access, run_id)
    steps = read_logs(page.services, run.id)["steps"]
    context = view(run, page.access, steps, ArtifactReader().read_bytes, RETRYABLE)
    return html(page, "run.html", title=f"Run {run.id}", section="runs", **context)


@pages_api.route("/ui/runs/{run_id}/steps/{step}", methods=["GET"])
@signed_in
def step_page(page: _Request, run_id: str, step: str) -> Response:
    from chalicelib.flows.logs import read_logs
    from chalicelib.pages.views import readable_run

    assert page.access is not None
    run = readable_run(page.services.store, page.access, run_id)
    log = read_logs(page.services, run.id, step)
    return html(page, "step.html", title=f"{step} of {run.id}", section="runs", run=run, log=log)


@pages_api.route("/ui/api/runs/{run_id}/logs", methods=["GET"])
def logs_twin(run_id: str) -> Response:
    """``GET /runs/{id}/logs`` for the log page's script: the session instead of the token."""
    from chalicelib.flows.logs import read_logs
    from chalicelib.pages.views import readable_run

    page = _Request(pages_api.current_request)
    if page.session is None or page.access is None:
        return error_response(401, "unauthorized", "sign in at /ui/login")
    params: dict[str, str] = dict(pages_api.current_request.query_params or {})
    try:
        readable_run(page.services.store, page.access, run_id)
        body = read_logs(page.services, run_id, params.get("step"), params.get("after"))
    except Exception as exc:
        return response_for(exc)
    response = json_response(200, body)
    response.headers["Cache-Control"] = "no-store"
    return response


@pages_api.route("/ui/locks", methods=["GET"])
@signed_in
def locks_page(page: _Request) -> Response:
    from chalicelib.pages.views import locks_page as view

    assert page.access is not None
    context = view(page.services.locks, page.access)
    return html(page, "locks.html", title="Locks", section="locks", **context)


@pages_api.route("/ui/costs", methods=["GET"])
@signed_in
def costs_page(page: _Request) -> Response:
    from pydantic import ValidationError

    from chalicelib.pages.views import costs_page as view
    from chalicelib.runs.query import RunQuery

    assert page.access is not None
    query_params: dict[str, str] = dict(pages_api.current_request.query_params or {})
    repo = query_params.get("repo") or None
    try:
        RunQuery(repo=repo)  # one rule for what a repository name may be
    except ValidationError:
        context: dict[str, Any] = {"repo": repo, "history": None, "chart": None, "repos": []}
        message = "repo: must be owner/name as GitHub spells it"
        return html(page, "costs.html", 400, title="Costs", section="costs",
                    message=message, **context)  # fmt: skip
    context = view(page.services.store, page.access, repo)
    return html(page, "costs.html", title="Costs", section="costs", **context)


# -- actions ----------------------------------------------------------------------------------


def _act_on_run(page: _Request, run_id: str, act: Callable[[Any], Any]) -> Response:
    from chalicelib.pages.views import readable_run

    assert page.access is not None
    run = readable_run(page.services.store, page.access, run_id)
    if not page.access.can_write(run.repo):
        detail = f"Acting on runs of {run.repo} needs write access to it on GitHub."
        return html(page, "error.html", 403, title="Not allowed", detail=detail)
    result = act(run)
    return redirect(page, f"/ui/runs/{quote(result.id, safe='')}")


@pages_api.route("/ui/runs/{run_id}/retry", methods=["POST"], content_types=FORM)
@state_changing
def retry(page: _Request, run_id: str) -> Response:
    from chalicelib.flows.operations import retry_run

    return _act_on_run(page, run_id, lambda run: retry_run(page.services, run.id))


@pages_api.route("/ui/runs/{run_id}/cancel", methods=["POST"], content_types=FORM)
@state_changing
def cancel(page: _Request, run_id: str) -> Response:
    from chalicelib.flows.operations import cancel_run

    return _act_on_run(page, run_id, lambda run: cancel_run(page.services, run.id))


@pages_api.route("/ui/runs/{run_id}/resolve", methods=["POST"], content_types=FORM)
@state_changing
def resolve(page: _Request, run_id: str) -> Response:
    from chalicelib.flows.operations import resolve_run

    outcome = page.form().get("as", "")
    assert page.session is not None
    who = f"{page.session.login} (run pages)"
    return _act_on_run(page, run_id, lambda run: resolve_run(page.services, run.id, outcome, who))


@pages_api.route("/ui/locks/{lock_id}/release", methods=["POST"], content_types=FORM)
@state_changing
def release(page: _Request, lock_id: str) -> Response:
    from chalicelib.locks.lease import LockKey

    assert page.access is not None
    key = LockKey.from_id(lock_id)
    if not page.access.can_write(key.repo):
        detail = f"Releasing a lock of {key.repo} needs write access to it on GitHub."
        return html(page, "error.html", 403, title="Not allowed", detail=detail)
    services = page.services
    _lease, promotions = services.locks.release_id(lock_id)
    services.dispatcher.resume(promotions)
    return redirect(page, "/ui/locks")


# -- sign-in ----------------------------------------------------------------------------------


# One view for both methods: Chalice consumes a blueprint's route options when it registers
# them, so a second app built from the same blueprints (the Terraform contract test builds
# one) would see two GET views on this path.
@pages_api.route("/ui/login", methods=["GET", "POST"], content_types=[*FORM, "application/json"])
def login_route() -> Response:
    if pages_api.current_request.method == "POST":
        return login()
    return login_page()


def login_page() -> Response:
    from chalicelib.pages.session import (
        PENDING_COOKIE,
        PENDING_SECONDS,
        Pending,
        new_token,
        safe_next,
        seal,
    )

    page = _Request(pages_api.current_request)
    query_params: dict[str, str] = dict(pages_api.current_request.query_params or {})
    target = safe_next(query_params.get("next"))
    if page.session is not None:
        return redirect(page, target)
    pending = Pending(state=new_token(), next=target)
    cookie = page.cookie(PENDING_COOKIE, seal(page.key, pending, page.now), PENDING_SECONDS)
    response = html(
        page, "login.html", title="Sign in", state=pending.state,
        github=page.services.oauth is not None,
        local=bool(page.services.settings.api_token),
    )  # fmt: skip
    response.headers["Set-Cookie"] = cookie
    return response


def login() -> Response:
    import hmac

    from chalicelib.pages.session import (
        PENDING_COOKIE,
        SESSION_COOKIE,
        SESSION_SECONDS,
        new_session,
        open_pending,
        same_token,
        seal,
    )

    page = _Request(pages_api.current_request)
    form = page.form()
    pending = open_pending(page.key, page.cookies.get(PENDING_COOKIE), page.now)
    if pending is None or not same_token(pending.state, form.get("state")):
        detail = "The sign-in form expired or did not come from these pages: try again."
        return html(page, "error.html", 403, title="Refused", detail=detail)
    oauth = page.services.oauth
    if form.get("via") == "github" and oauth is not None:
        return redirect(page, oauth.authorize_url(_callback_url(page), pending.state))
    expected = page.services.settings.api_token
    supplied = form.get("token", "").encode("utf-8", "surrogatepass")
    if form.get("via") == "token" and expected and hmac.compare_digest(supplied, expected.encode()):
        session = new_session("local", local=True)
        cookies = [
            page.cookie(SESSION_COOKIE, seal(page.key, session, page.now), SESSION_SECONDS),
            page.forget(PENDING_COOKIE),
        ]
        return redirect(page, pending.next, cookies)
    return html(page, "error.html", 401, title="Sign-in failed", detail="Wrong token.")


@pages_api.route("/ui/oauth/callback", methods=["GET"])
def oauth_callback() -> Response:
    from chalicelib.githost.base import GitHostError
    from chalicelib.pages.session import (
        PENDING_COOKIE,
        SESSION_COOKIE,
        SESSION_SECONDS,
        new_session,
        open_pending,
        same_token,
        seal,
    )

    page = _Request(pages_api.current_request)
    params: dict[str, str] = dict(pages_api.current_request.query_params or {})
    pending = open_pending(page.key, page.cookies.get(PENDING_COOKIE), page.now)
    oauth = page.services.oauth
    if oauth is None or pending is None or not same_token(pending.state, params.get("state")):
        detail = "This sign-in did not start here, or took too long: sign in again."
        return html(page, "error.html", 403, title="Refused", detail=detail)
    code = params.get("code")
    if not code or len(code) > 200:
        return html(page, "error.html", 401, title="Sign-in failed", detail="GitHub sent no code.")
    try:
        token = oauth.exchange(code, _callback_url(page))
        login_name = oauth.login(token)
    except GitHostError as exc:
        return html(page, "error.html", 401, title="Sign-in failed", detail=str(exc))
    session = new_session(login_name, token=token)
    cookies = [
        page.cookie(SESSION_COOKIE, seal(page.key, session, page.now), SESSION_SECONDS),
        page.forget(PENDING_COOKIE),
    ]
    return redirect(page, pending.next, cookies)


@pages_api.route("/ui/logout", methods=["POST"], content_types=FORM)
@state_changing
def logout(page: _Request) -> Response:
    from chalicelib.pages.session import SESSION_COOKIE

    return redirect(page, "/ui/login", [page.forget(SESSION_COOKIE)])


@pages_api.route("/ui/static/{name}", methods=["GET"])
def static(name: str) -> Response:
    from chalicelib.pages.render import static_asset

    found = static_asset(name)
    if found is None:
        return error_response(404, "not_found", "no such asset")
    data, kind = found
    headers: dict[str, str | list[str]] = {
        "Content-Type": kind,
        "Cache-Control": "public, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=data.decode(), status_code=200, headers=headers)


def _asked_path(request: Any) -> str:
    """The page asked for, to return to after signing in. Chalice's ``path`` is the route's
    template (``/ui/runs/{run_id}``): the values go back in, and the query after it."""
    path = request.path
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    query = dict(request.query_params or {})
    return f"{path}?{urlencode(query)}" if query else path


def _callback_url(page: _Request) -> str:
    return page.services.settings.public_url.rstrip("/") + "/ui/oauth/callback"
