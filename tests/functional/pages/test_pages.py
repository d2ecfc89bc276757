"""The pages through the Chalice app: sign-in through the fake GitHub, what each user sees,
CSRF on every action, escaping of hostile repository content."""

from __future__ import annotations

import time

from chalicelib.locks.lease import Claimant, Lease, LockKey
from chalicelib.runs.model import Run, RunStatus
from chalicelib.services import Services
from tests.functional.conftest import Controller
from tests.functional.github.fake_github import FakeGitHub

from .conftest import HIDDEN, READABLE, Browser

HOSTILE = '<script>alert("x")</script>&<img src=x onerror=alert(1)>'


def seed(services: Services, sha: str = "b" * 40) -> None:
    store = services.store
    store.create(Run(id="run-open", repo=READABLE, pipeline="terraform-plan", sha="a" * 40,
                     branch=f"feature/{HOSTILE}", pr=7, reason=HOSTILE,
                     created_at="2026-11-20T10:00:00.000Z"))  # fmt: skip
    store.create(Run(id="run-failed", repo=READABLE, pipeline="terraform-plan", sha=sha,
                     branch="main", created_at="2026-11-21T10:00:00.000Z"))  # fmt: skip
    store.transition("run-failed", RunStatus.DISPATCHED, backend="recording", runner_ref="r-1")
    store.transition(
        "run-failed",
        RunStatus.FAILED,
        error=HOSTILE,
        steps=[{"name": HOSTILE[:20], "status": "failed", "seconds": 75, "reason": HOSTILE}],
    )
    store.create(Run(id="run-secret", repo=HIDDEN, pipeline="terraform-plan", sha="c" * 40,
                     branch="secret-branch", created_at="2026-11-22T10:00:00.000Z"))  # fmt: skip


def allow(fake: FakeGitHub, login: str, repo: str, role: str) -> None:
    fake.permissions[(repo, login)] = {"permission": role, "role_name": role}


def test_signed_out_visitors_are_sent_to_sign_in_and_the_api_keeps_its_token(
    browser: Browser,
) -> None:
    for path, back in (
        ("/ui/runs", "%2Fui%2Fruns"),
        ("/ui/runs/run-open", "%2Fui%2Fruns%2Frun-open"),
        ("/ui/runs/run-open/steps/plan", "%2Fui%2Fruns%2Frun-open%2Fsteps%2Fplan"),
        ("/ui/costs?repo=a/b", "%2Fui%2Fcosts%3Frepo%3Da%252Fb"),
    ):
        answer = browser.get(path)
        assert answer.status_code == 303
        assert answer.headers["Location"] == f"/ui/login?next={back}"
    assert browser.get("/ui/api/runs/run-open/logs").status_code == 401
    assert browser.client.http.get("/runs").status_code == 401  # bearer API unchanged


def test_github_sign_in_shows_only_readable_repositories(
    browser: Browser, fake: FakeGitHub, pages: Services
) -> None:
    seed(pages)
    allow(fake, "reader", READABLE, "read")
    landed = browser.sign_in_with_github(fake, "reader")
    assert landed.status_code == 303 and landed.headers["Location"] == "/ui/runs"
    for _ in range(3):  # the same session, page after page
        listing = browser.get("/ui/runs")
        text = listing.body.decode()
        assert listing.status_code == 200
        assert "run-open" in text and "run-failed" in text
        assert "run-secret" not in text and HIDDEN not in text and "secret-branch" not in text
    hidden, unknown = browser.get("/ui/runs/run-secret"), browser.get("/ui/runs/run-nothere")
    assert hidden.status_code == unknown.status_code == 404
    # Nothing tells a hidden run from one that does not exist.
    assert hidden.body.decode().replace("run-secret", "X") == unknown.body.decode().replace(
        "run-nothere", "X"
    )
    assert browser.get(f"/ui/runs?repo={HIDDEN}").body.decode().count("run-secret") == 0
    assert browser.get("/ui/api/runs/run-secret/logs").status_code == 404
    # GitHub was asked once per repository for all those pages (cached briefly).
    asked = [r.path for r in fake.requests if r.path.startswith("/repos/")]
    assert sorted(set(asked)) == sorted(asked) == sorted([f"/repos/{READABLE}", f"/repos/{HIDDEN}"])


def test_hostile_repository_content_is_escaped_everywhere(
    browser: Browser, fake: FakeGitHub, pages: Services
) -> None:
    seed(pages)
    allow(fake, "reader", READABLE, "read")
    browser.sign_in_with_github(fake, "reader")
    for path in ("/ui/runs", "/ui/runs/run-open", "/ui/runs/run-failed"):
        answer = browser.get(path)
        text = answer.body.decode()
        assert answer.status_code == 200
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;" in text
        policy = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        # The only script is the shipped asset: nothing inline for the policy to allow.
        assert text.count("<script") == 1 and '<script src="/ui/static/pages.js"' in text


def test_actions_need_the_csrf_token_and_write_access(
    browser: Browser, fake: FakeGitHub, pages: Services, controller: Controller
) -> None:
    seed(pages, sha=controller.commit())
    allow(fake, "reader", READABLE, "read")
    browser.sign_in_with_github(fake, "reader")
    csrf = browser.csrf()
    page = browser.get("/ui/runs/run-open").body.decode()
    assert "/cancel" not in page  # no buttons for a reader
    assert browser.post("/ui/runs/run-open/cancel", {}).status_code == 403
    assert browser.post("/ui/runs/run-open/cancel", {"csrf": csrf[:-1] + "x"}).status_code == 403
    refused = browser.post("/ui/runs/run-open/cancel", {"csrf": csrf})
    assert refused.status_code == 403 and "write access" in refused.body.decode()
    assert pages.store.get("run-open").status == RunStatus.QUEUED

    writer = Browser(browser.client)
    allow(fake, "writer", READABLE, "write")
    writer.sign_in_with_github(fake, "writer")
    token = writer.csrf()
    assert "/cancel" in writer.get("/ui/runs/run-open").body.decode()
    foreign = {"Origin": "https://evil.example"}
    assert writer.post("/ui/runs/run-open/cancel", {"csrf": token}, foreign).status_code == 403
    assert writer.post("/ui/runs/run-open/cancel", {"csrf": csrf}).status_code == 403  # not its own
    done = writer.post("/ui/runs/run-open/cancel", {"csrf": token})
    assert done.status_code == 303 and done.headers["Location"] == "/ui/runs/run-open"
    assert pages.store.get("run-open").status == RunStatus.CANCELLED
    again = writer.post("/ui/runs/run-open/cancel", {"csrf": token})  # the flow's own rule
    assert again.status_code == 409
    retried = writer.post("/ui/runs/run-failed/retry", {"csrf": token})
    assert retried.status_code == 303, retried.body
    new_id = retried.headers["Location"].rsplit("/", 1)[1]
    assert pages.store.get(new_id).retry_of == "run-failed"
    twice = writer.post("/ui/runs/run-failed/retry", {"csrf": token})
    assert twice.status_code == 409 and new_id in twice.body.decode()


def test_lock_release_needs_write_access(
    browser: Browser, fake: FakeGitHub, pages: Services
) -> None:
    key = LockKey(repo=READABLE, directory="infra", workspace="default")
    now = time.time()
    holder = Claimant(pr=7, run_id="run-open", since=now)
    waiter = Claimant(pr=8, run_id="run-waiting", since=now)

    def hold(lease: Lease, next_token: object) -> tuple[Lease, None]:
        changed = lease.model_copy(
            update={"holder": holder, "expires_at": now + 3600, "fencing_token": 1,
                    "waiters": [waiter]}
        )  # fmt: skip
        return changed, None

    pages.lock_store.change(key, hold)
    allow(fake, "reader", READABLE, "read")
    browser.sign_in_with_github(fake, "reader")
    listing = browser.get("/ui/locks").body.decode()
    assert "PR #7" in listing and "PR #8" in listing and '/release"' not in listing
    csrf = browser.csrf()
    refused = browser.post(f"/ui/locks/{key.id}/release", {"csrf": csrf})
    assert refused.status_code == 403
    assert pages.locks.find(READABLE)[0].holder is not None

    stranger = Browser(browser.client)
    stranger.sign_in_with_github(fake, "stranger")  # no access at all: sees no lock
    assert "PR #7" not in stranger.get("/ui/locks").body.decode()

    writer = Browser(browser.client)
    allow(fake, "writer", READABLE, "write")
    writer.sign_in_with_github(fake, "writer")
    assert '/release"' in writer.get("/ui/locks").body.decode()
    released = writer.post(f"/ui/locks/{key.id}/release", {"csrf": writer.csrf()})
    assert released.status_code == 303
    after = pages.locks.find(READABLE)[0]
    assert after.holder is None or after.holder.pr != 7  # PR 7 no longer holds it


def test_forged_or_replayed_sign_ins_are_refused(
    browser: Browser, fake: FakeGitHub, pages: Services
) -> None:
    allow(fake, "reader", READABLE, "read")
    browser.sign_in_with_github(fake, "reader")
    browser.cookies["maestro_session"] = browser.cookies["maestro_session"][:-4] + "AAA="
    assert browser.get("/ui/runs").status_code == 303  # back to sign-in
    # A callback with a state this browser never got is refused.
    other = Browser(browser.client)
    other.get("/ui/login")
    assert other.get("/ui/oauth/callback?code=code1&state=" + "x" * 43).status_code == 403
    # The login form needs the state of its own pending cookie (login CSRF).
    assert other.post("/ui/login", {"state": "y" * 43, "via": "github"}).status_code == 403
    # GitHub refusing a code (used twice, or made up) is a failed sign-in, not a session.
    page = other.get("/ui/login").body.decode()
    state = page.split('name="state" value="')[1].split('"')[0]
    failed = other.get(f"/ui/oauth/callback?code=made-up&state={state}")
    assert failed.status_code == 401 and "maestro_session" not in other.cookies


def test_local_mode_signs_in_with_the_api_token(browser: Browser, pages: Services) -> None:
    page = browser.get("/ui/login").body.decode()
    state = page.split('name="state" value="')[1].split('"')[0]
    wrong = browser.post("/ui/login", {"state": state, "via": "token", "token": "nope"})
    assert wrong.status_code == 401
    right = browser.post("/ui/login", {"state": state, "via": "token", "token": "test-token"})
    assert right.status_code == 303
    assert browser.get("/ui/runs").status_code == 200
    out = browser.post("/ui/logout", {"csrf": browser.csrf()})
    assert out.status_code == 303 and "maestro_session" not in browser.cookies
    assert browser.get("/ui/runs").status_code == 303


def test_static_assets_are_only_the_shipped_ones(browser: Browser) -> None:
    script = browser.get("/ui/static/pages.js")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert browser.get("/ui/static/pages.css").status_code == 200
    for name in ("..%2F__init__.py", "session.py", ".hidden.js", "missing.css"):
        assert browser.get(f"/ui/static/{name}").status_code == 404


def test_links_redirects_and_cookies_carry_the_stage_path(pages: Services) -> None:
    """Deployed behind API Gateway the pages live under the stage (``/api``): every link,
    redirect and cookie path says so, while the routes themselves do not see it."""
    from chalice.test import Client

    from app import app
    from chalicelib.services import set_services

    staged = pages.settings.model_copy(update={"public_url": "https://maestro.example/api"})
    set_services(Services(staged, store=pages.store))
    with Client(app) as client:
        browser = Browser(client)
        assert browser.get("/ui/runs").headers["Location"] == "/api/ui/login?next=%2Fui%2Fruns"
        page = browser.get("/ui/login")
        cookie = page.headers["Set-Cookie"]
        assert "Path=/api/ui" in cookie and "Secure" in cookie
        state = page.body.decode().split('name="state" value="')[1].split('"')[0]
        signed = browser.post("/ui/login", {"state": state, "via": "token", "token": "test-token"})
        assert signed.headers["Location"] == "/api/ui/runs"
        text = browser.get("/ui/runs").body.decode()
        assert 'href="/api/ui/locks"' in text and 'src="/api/ui/static/pages.js"' in text
        assert 'href="/ui/' not in text and 'action="/ui/' not in text


def test_the_run_page_shows_the_redacted_plan_and_cost_never_the_raw_plan(
    browser: Browser, fake: FakeGitHub, pages: Services, tmp_path
) -> None:
    raw = tmp_path / "plan.json"
    raw.write_text('{"planned_values": {"password": "RAW-SECRET-VALUE"}}')
    redacted = tmp_path / "plan-redacted.txt"
    redacted.write_text("Plan: 1 to add, 0 to change, 0 to destroy.\n  + password = (sensitive)\n")
    block = tmp_path / "cost-block.md"
    block.write_text("Monthly cost: +$12.00 <b>bold</b>")
    pages.store.create(Run(id="run-plan", repo=READABLE, pipeline="terraform-plan", sha="d" * 40,
                           cost={"total_monthly_cost": "42.10", "currency": "USD"}))  # fmt: skip
    pages.store.transition("run-plan", RunStatus.DISPATCHED, backend="recording", runner_ref="r")
    artifacts = {"plan_json": raw.as_uri(), "plan_redacted": redacted.as_uri(),
                 "cost_block": block.as_uri()}  # fmt: skip
    pages.store.transition("run-plan", RunStatus.SUCCEEDED, artifacts=artifacts)
    allow(fake, "reader", READABLE, "read")
    browser.sign_in_with_github(fake, "reader")
    for _ in range(2):
        text = browser.get("/ui/runs/run-plan").body.decode()
        assert "Plan: 1 to add, 0 to change, 0 to destroy." in text
        assert "+ password = (sensitive)" in text
        assert "RAW-SECRET-VALUE" not in text
        assert "Monthly cost: +$12.00 &lt;b&gt;bold&lt;/b&gt;" in text
        assert "Monthly total 42.10 USD" in text


def test_the_list_pages_through_filtered_runs_and_refuses_bad_filters(
    browser: Browser, fake: FakeGitHub, pages: Services
) -> None:
    for n in range(30):
        pages.store.create(Run(id=f"run-p{n:02d}", repo=READABLE, pipeline="terraform-plan",
                               sha=f"{n:040d}", branch="infra" if n % 2 else "other",
                               created_at=f"2026-11-01T10:{n:02d}:00.000Z"))  # fmt: skip
    allow(fake, "reader", READABLE, "read")
    browser.sign_in_with_github(fake, "reader")
    first = browser.get(f"/ui/runs?repo={READABLE}&branch=&pr=").body.decode()
    assert first.count('href="/ui/runs/run-p') == 25 and "run-p29" in first
    next_url = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = browser.get(next_url).body.decode()
    assert second.count('href="/ui/runs/run-p') == 5 and "run-p00" in second
    assert 'rel="next"' not in second
    only = browser.get(f"/ui/runs?repo={READABLE}&branch=infra").body.decode()
    assert only.count('href="/ui/runs/run-p') == 15 and "run-p28" not in only
    for bad in ("status=AAA", "pr=0", "repo=../etc", "branch=a%00b", "colour=red"):
        answer = browser.get(f"/ui/runs?{bad}")
        assert answer.status_code == 400, bad
        assert 'class="notice"' in answer.body.decode()
    cursor = next_url.split("cursor=")[1]
    assert browser.get(f"/ui/runs?branch=infra&cursor={cursor}").status_code == 400


def test_runs_of_unreadable_repositories_do_not_shorten_the_page(
    browser: Browser, fake: FakeGitHub, pages: Services
) -> None:
    """Two runs in three are of a repository the reader cannot see: each page still shows 25
    readable runs, and paging through shows every readable run once, in order."""
    for n in range(90):
        repo = READABLE if n % 3 == 0 else HIDDEN
        at = f"2026-11-02T10:{n // 60:02d}:{n % 60:02d}.000Z"
        pages.store.create(Run(id=f"run-m{n:02d}", repo=repo, pipeline="terraform-plan",
                               sha=f"{n:040d}", branch="infra", created_at=at))  # fmt: skip
    allow(fake, "reader", READABLE, "read")
    browser.sign_in_with_github(fake, "reader")
    for _ in range(2):  # the same answers from a warm permission cache
        seen, url, pages_read = [], "/ui/runs", 0
        while url:
            text = browser.get(url).body.decode()
            pages_read += 1
            found = [part.split('"')[0] for part in text.split('href="/ui/runs/run-')[1:]]
            assert len(found) == (25 if pages_read == 1 else 5), pages_read
            seen += found
            url = (
                text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
                if 'rel="next"' in text
                else ""
            )
        expected = [f"m{n:02d}" for n in range(89, -1, -1) if n % 3 == 0]
        assert seen == expected


def test_a_reader_of_almost_nothing_gets_a_next_link_not_a_scan_of_the_table() -> None:
    from chalicelib.pages.views import readable_runs
    from chalicelib.runs.query import RunPage, RunQuery

    class Store:
        def __init__(self) -> None:
            self.queries: list[RunQuery] = []

        def query(self, query: RunQuery) -> RunPage:
            self.queries.append(query)
            n = int(query.cursor or 0)
            rows = [Run(id=f"r{i}", repo="acme/hidden", pipeline="terraform-plan", sha="a" * 40)
                    for i in range(n, n + query.limit)]  # fmt: skip
            return RunPage(runs=rows, next_cursor=str(n + query.limit))

    class NoAccess:
        def can_read(self, repo: str) -> bool:
            return False

    store = Store()
    runs, cursor = readable_runs(store, NoAccess(), RunQuery(limit=25), max_queries=8)  # type: ignore[arg-type]
    assert runs == [] and cursor == "200" and len(store.queries) == 8


def test_status_and_comment_links_open_the_run_page() -> None:
    from chalicelib.settings import Settings

    settings = Settings(public_url="https://maestro.example/api/")
    assert settings.run_url("run-1") == "https://maestro.example/api/ui/runs/run-1"


def test_costs_offer_readable_repositories_and_chart_them(
    browser: Browser, fake: FakeGitHub, pages: Services
) -> None:
    for n, (repo, total) in enumerate([(READABLE, "10.00"), (READABLE, "14.50"), (HIDDEN, "99")]):
        pages.store.create(Run(id=f"run-c{n}", repo=repo, pipeline="terraform-plan", sha="e" * 40,
                               created_at=f"2026-11-0{n + 1}T10:00:00.000Z",
                               cost={"total_monthly_cost": total, "currency": "USD"}))  # fmt: skip
        pages.store.transition(f"run-c{n}", RunStatus.DISPATCHED, backend="recording")
        pages.store.transition(f"run-c{n}", RunStatus.SUCCEEDED)
    allow(fake, "reader", READABLE, "read")
    browser.sign_in_with_github(fake, "reader")
    offered = browser.get("/ui/costs").body.decode()
    assert f"/ui/costs?repo={READABLE}" in offered and HIDDEN not in offered
    chart = browser.get(f"/ui/costs?repo={READABLE}").body.decode()
    assert '<svg role="img"' in chart and "<polyline" in chart
    assert "2026-11-01: 10.00/month" in chart and "2026-11-02: 14.50/month" in chart
    hidden = browser.get(f"/ui/costs?repo={HIDDEN}").body.decode()
    assert "<svg" not in hidden and "99" not in hidden.split("<main")[1]
    assert browser.get("/ui/costs?repo=not a repo").status_code == 400
