"""Sessions, CSRF tokens and permission rules as plain functions: fast, no server."""

from __future__ import annotations

import pytest

from chalicelib.pages.access import Access, PermissionCache, can_read, can_write
from chalicelib.pages.access import level_from_permissions as level
from chalicelib.pages.session import (
    SESSION_SECONDS,
    Pending,
    new_session,
    new_token,
    open_pending,
    open_session,
    read_cookies,
    safe_next,
    same_token,
    seal,
    secure_cookies,
    set_cookie,
)

KEY = b"k" * 32
NOW = 1_800_000_000.0


def test_a_sealed_session_opens_again_the_same_until_it_expires() -> None:
    session = new_session("octocat", token="ghu_x")
    cookie = seal(KEY, session, NOW)
    for _ in range(3):  # the same cookie, read again and again, stays the same session
        assert open_session(KEY, cookie, NOW + 10) == session
    assert open_session(KEY, cookie, NOW + SESSION_SECONDS - 1) == session
    assert open_session(KEY, cookie, NOW + SESSION_SECONDS + 1) is None
    assert "octocat" not in cookie and "ghu_x" not in cookie  # encrypted, not just signed


@pytest.mark.parametrize(
    "forge",
    [
        lambda c: c[:-2] + ("A" if c[-2] != "A" else "B") + c[-1],  # one character changed
        lambda c: c + "x",
        lambda c: "",
        lambda c: "é" + c,
        lambda c: c * 40,  # longer than any cookie of ours
        lambda c: seal(b"another key, not the one we have", new_session("admin"), NOW),
    ],
)
def test_a_forged_session_cookie_is_no_session(forge) -> None:
    cookie = seal(KEY, new_session("octocat"), NOW)
    assert open_session(KEY, forge(cookie), NOW) is None


def test_a_pending_sign_in_never_passes_for_a_session_nor_the_reverse() -> None:
    pending = seal(KEY, Pending(state=new_token()), NOW)
    session = seal(KEY, new_session("octocat"), NOW)
    assert open_session(KEY, pending, NOW) is None
    assert open_pending(KEY, session, NOW) is None
    assert open_pending(KEY, pending, NOW + 601) is None  # ten minutes to finish signing in


def test_tokens_compare_only_when_equal() -> None:
    token = new_token()
    assert same_token(token, token)
    assert not same_token(token, token[:-1])
    assert not same_token(token, None)
    assert not same_token(token, "")
    assert not same_token(token, "\udcff" * 10)  # a lone surrogate neither raises nor matches
    assert new_token() != new_token()


def test_cookie_attributes_and_hostile_cookie_headers() -> None:
    line = set_cookie("maestro_session", "v", 3600, secure=True)
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/ui", "Max-Age=3600"} <= {
        part.strip() for part in line.split(";")
    }
    assert "Secure" not in set_cookie("maestro_session", "v", 3600, secure=False)
    assert read_cookies('a=1; b="2"') == {"a": "1", "b": "2"}
    assert read_cookies(None) == {}
    assert read_cookies("\x00;;=;") == {}


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("http://[::1]:8000", False),
        ("https://127.0.0.1", True),
        ("http://maestro.example.com", True),
        ("http://10.0.0.5", True),
    ],
)
def test_cookies_are_secure_except_on_loopback(url: str, secure: bool) -> None:
    assert secure_cookies(url) is secure


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/ui/runs/run-1", "/ui/runs/run-1"),
        ("/ui/runs?repo=a/b", "/ui/runs?repo=a/b"),
        ("https://evil.example", "/ui/runs"),
        ("//evil.example/ui/", "/ui/runs"),
        ("/\\evil.example", "/ui/runs"),
        ("/ui/\\evil", "/ui/runs"),
        ("/ui/x\r\nSet-Cookie: a=b", "/ui/runs"),
        ("/runs", "/ui/runs"),
        (None, "/ui/runs"),
    ],
)
def test_after_sign_in_only_our_pages(asked: str | None, goes: str) -> None:
    assert safe_next(asked) == goes


@pytest.mark.parametrize(
    ("permissions", "expected", "reads", "writes"),
    [
        ({"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
         "admin", True, True),
        ({"maintain": True, "push": True, "triage": True, "pull": True},
         "maintain", True, True),
        ({"push": True, "pull": True}, "write", True, True),
        ({"triage": True, "pull": True}, "triage", True, False),
        ({"pull": True}, "read", True, False),
        ({"pull": False}, "none", False, False),
        ({"pull": "true"}, "none", False, False),  # only GitHub's booleans count
        (None, "none", False, False),
    ],
)  # fmt: skip
def test_github_permissions_as_levels(permissions, expected, reads, writes) -> None:
    assert level(permissions) == expected
    assert can_read(expected) is reads
    assert can_write(expected) is writes
    assert not can_read("superuser") and not can_write("superuser")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_github_is_asked_once_per_repository_and_cache_lifetime() -> None:
    clock, asked = Clock(), []

    def ask(token: str, repo: str) -> str:
        asked.append(repo)
        return "write" if repo == "a/one" else "none"

    cache = PermissionCache(seconds=60, entries=2, clock=clock)
    access = Access(new_session("octocat", token="ghu_1"), ask, cache)
    for _ in range(3):
        assert access.can_write("a/one") and not access.can_read("a/two")
    assert asked == ["a/one", "a/two"]
    clock.now += 61  # stale: GitHub is asked again, so a revoked access ends
    assert access.can_write("a/one")
    assert asked == ["a/one", "a/two", "a/one"]
    access.can_read("a/three")  # over the cache's size: the oldest entry goes
    assert cache.get("octocat", "a/two") is None
    # Another user's answer is never reused.
    other = Access(new_session("hubot", token="ghu_2"), ask, cache)
    other.can_read("a/one")
    assert asked[-1] == "a/one" and len(asked) == 5


def test_the_local_token_may_do_everything_and_a_tokenless_session_nothing() -> None:
    def ask(token: str, repo: str) -> str:
        raise AssertionError("GitHub is not asked")

    cache = PermissionCache()
    assert Access(new_session("local", local=True), ask, cache).can_write("a/b")
    assert not Access(new_session("octocat"), ask, cache).can_read("a/b")


def test_the_cost_chart_draws_oldest_left_and_skips_what_is_not_a_number() -> None:
    from chalicelib.pages.chart import HEIGHT, PAD, cost_chart

    points = [  # newest first, as cost_history returns them
        {"created_at": "2026-11-03T10:00:00Z", "total_monthly_cost": "30.00"},
        {"created_at": "2026-11-02T10:00:00Z", "total_monthly_cost": "<svg onload=x>"},
        {"created_at": "2026-11-01T10:00:00Z", "total_monthly_cost": "10.00"},
    ]
    chart = cost_chart(points)
    assert chart is not None
    assert [p.label for p in chart.points] == ["2026-11-01: 10.00/month", "2026-11-03: 30.00/month"]
    assert chart.points[0].y == HEIGHT - PAD and chart.points[1].y == PAD  # low at the bottom
    assert chart.points[0].x < chart.points[1].x
    assert set(chart.path) <= set("0123456789., ")  # numbers only reach the SVG's attributes
    assert (chart.low, chart.high, chart.first, chart.last) == (
        "10.00",
        "30.00",
        "2026-11-01",
        "2026-11-03",
    )
    assert cost_chart([]) is None and cost_chart(points[1:2]) is None
