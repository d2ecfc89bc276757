"""Signed, encrypted, short-lived cookies: the session and the sign-in's pending state.

A cookie is a Fernet token (AES-CBC + HMAC-SHA256, with its issue time inside), keyed by a
key derived from the secret store's session key, one derived key per purpose, so a pending
sign-in cookie never passes for a session. Anything that does not decrypt, is older than its
lifetime, or does not parse as the model is no cookie at all: the caller treats the request
as signed out.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
from http.cookies import CookieError, SimpleCookie
from ipaddress import ip_address
from typing import Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SESSION_COOKIE = "maestro_session"
PENDING_COOKIE = "maestro_signin"
SESSION_SECONDS = 3600  # short: a revoked GitHub access stops at the next sign-in
PENDING_SECONDS = 600  # the time to finish GitHub's consent page
MAX_COOKIE_CHARS = 4000  # browsers keep 4096 bytes per cookie; longer is not ours
Purpose = Literal["session", "pending"]
FERNET_TOKEN = re.compile(r"(?:[A-Za-z0-9_-]{4})+(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?")


class Session(BaseModel):
    """Who is signed in. ``token`` is the user's GitHub token (GitHub sign-in), which asks
    GitHub for the user's own permissions; ``local`` is the API token's sign-in (local mode),
    which may do what the API token may."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    login: str = Field(min_length=1, max_length=39)
    token: str | None = Field(default=None, max_length=1024)
    local: bool = False
    csrf: str = Field(min_length=32, max_length=64)


class Pending(BaseModel):
    """A sign-in under way: the OAuth ``state`` (also the login form's CSRF token) and the
    page to return to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: str = Field(min_length=32, max_length=64)
    next: str = Field(default="/ui/runs", max_length=2000)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_session(login: str, token: str | None = None, local: bool = False) -> Session:
    return Session(login=login, token=token, local=local, csrf=new_token())


def _fernet(key: bytes, purpose: Purpose) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"maestrops {purpose}".encode()
    ).derive(key)
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(key: bytes, value: Session | Pending, now: float) -> str:
    purpose: Purpose = "session" if isinstance(value, Session) else "pending"
    raw = value.model_dump_json().encode()
    return _fernet(key, purpose).encrypt_at_time(raw, int(now)).decode()


def open_session(key: bytes, cookie: str | None, now: float) -> Session | None:
    raw = _open(key, "session", cookie, SESSION_SECONDS, now)
    try:
        return Session.model_validate(raw) if raw is not None else None
    except ValidationError:
        return None


def open_pending(key: bytes, cookie: str | None, now: float) -> Pending | None:
    raw = _open(key, "pending", cookie, PENDING_SECONDS, now)
    try:
        return Pending.model_validate(raw) if raw is not None else None
    except ValidationError:
        return None


def _open(key: bytes, purpose: Purpose, cookie: str | None, ttl: int, now: float) -> object:
    # Exactly a Fernet token's alphabet and length: base64 decoding alone would ignore
    # characters after the padding, and the same session must have only one cookie.
    if not cookie or len(cookie) > MAX_COOKIE_CHARS or not FERNET_TOKEN.fullmatch(cookie):
        return None
    try:
        data = _fernet(key, purpose).decrypt_at_time(cookie.encode(), ttl, int(now))
        return json.loads(data)
    except (InvalidToken, ValueError):
        return None


def same_token(expected: str, supplied: str | None) -> bool:
    """Constant-time comparison of a CSRF token or OAuth state; a missing one never matches."""
    if not supplied or len(supplied) > 128:
        return False
    return hmac.compare_digest(expected.encode(), supplied.encode("utf-8", "surrogatepass"))


def read_cookies(header: str | None) -> dict[str, str]:
    """The request's cookies; a header the parser refuses counts as none."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header or "")
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def set_cookie(name: str, value: str, max_age: int, secure: bool, path: str = "/ui") -> str:
    """A ``Set-Cookie`` value: HttpOnly, SameSite=Lax, scoped to the pages (``path``), Secure
    unless the pages are served on loopback over plain HTTP (local mode)."""
    jar: SimpleCookie = SimpleCookie()
    jar[name] = value
    morsel = jar[name]
    morsel["path"] = path
    morsel["max-age"] = str(max_age)
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


def clear_cookie(name: str, secure: bool, path: str = "/ui") -> str:
    return set_cookie(name, "", 0, secure, path)


def base_path(public_url: str) -> str:
    """The path the app is served under (API Gateway's stage, ``/api``; none in local mode):
    links, redirects and the cookies' path start with it.

    >>> base_path("https://abc.execute-api.eu-west-1.amazonaws.com/api/")
    '/api'
    >>> base_path("http://127.0.0.1:8000")
    ''
    """
    return urlsplit(public_url).path.rstrip("/")


def secure_cookies(public_url: str) -> bool:
    """Secure everywhere but on a loopback address over plain HTTP."""
    parts = urlsplit(public_url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ip_address(host).is_loopback
    except ValueError:
        return True


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a page of ours, never another site (``//host``,
    ``/\\host``) nor a header-splitting string."""
    if (
        not path
        or not path.startswith("/ui/")
        or path.startswith(("//", "/\\"))
        or "\\" in path
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path)
        or len(path) > 2000
    ):
        return "/ui/runs"
    return path
