"""The runs page's first page against ``GET /runs`` of the same page, 10,000 runs stored.

Both go through the app in-process (``chalice.test.Client``) over the same store (local
mode's SQLite, 10,000 runs in 20 repositories): the difference is the page's own work, that
is the session cookie, GitHub's permission answers (cached) and the HTML. The signed-in user
is a GitHub user of the fake GitHub on loopback, so the first request pays GitHub's
permission calls and later ones use the cache. Target: the page at most 2x the API.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="ERROR")

from chalice.test import Client  # noqa: E402

from app import app  # noqa: E402
from chalicelib.pages.session import SESSION_COOKIE, new_session, seal  # noqa: E402
from chalicelib.runs.model import Run  # noqa: E402
from chalicelib.services import Services, set_services  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from chalicelib.store.sqlite_db import SqliteDatabase  # noqa: E402
from chalicelib.store.sqlite_runs import SqliteRunStore  # noqa: E402
from tests.functional.github.fake_github import FakeGitHub  # noqa: E402
from tests.functional.github.openapi_check import OpenApiChecker  # noqa: E402

RUNS = 10_000
REPOS = [f"octo-org/service-{n:02d}" for n in range(20)]
ROUNDS, PER_ROUND = 7, 40
PAGE = "limit=25"


def seed(store: SqliteRunStore) -> None:
    for n in range(RUNS):
        store.create(
            Run(
                id=f"run-{n:06d}",
                repo=REPOS[n % len(REPOS)],
                pipeline="terraform-plan" if n % 3 else "cd-application",
                sha=f"{n:040x}",
                branch=f"feature/{n % 97}",
                pr=n % 500 + 1,
                run_number=n,
                created_at=f"2026-{n % 12 + 1:02d}-{n % 28 + 1:02d}T10:{n % 60:02d}:00.000Z",
            )
        )


def timed(client: Client, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    for _ in range(PER_ROUND):
        answer = client.http.get(path, headers=headers)
        assert answer.status_code == 200, answer.body[:300]
    return (time.perf_counter() - started) / PER_ROUND


def main() -> None:
    warnings.filterwarnings("ignore")
    fake = FakeGitHub(OpenApiChecker(), app_id="1", app_public_key="unused").start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            api_token="bench-token",
            api_auth="token",
            local_data_dir=tmp,
            oauth_client_id="Iv1.bench",
            oauth_client_secret="bench",
            github_api_url=fake.url,
            github_web_url=fake.url,
        )
        store = SqliteRunStore(SqliteDatabase(Path(tmp) / "runs.db"))
        started = time.perf_counter()
        seed(store)
        seeded = time.perf_counter() - started
        services = Services(settings, store=store)
        set_services(services)
        fake.user_tokens["ghu_bench"] = "mona"
        for repo in REPOS:
            fake.permissions[(repo, "mona")] = {"permission": "read", "role_name": "read"}
        session = seal(services.session_key(), new_session("mona", token="ghu_bench"), time.time())
        page_headers = {"Cookie": f"{SESSION_COOKIE}={session}"}
        api_headers = {"Authorization": "Bearer bench-token"}
        with Client(app) as client:
            started = time.perf_counter()
            first = client.http.get(f"/ui/runs?{PAGE}", headers=page_headers)
            cold = time.perf_counter() - started
            assert first.status_code == 200 and first.body.count(b"/ui/runs/run-") == 25
            asked = sum(1 for r in fake.requests if r.path.startswith("/repos/"))
            client.http.get(f"/runs?{PAGE}", headers=api_headers)  # warm the API path too
            pages, api = [], []
            for _ in range(ROUNDS):
                pages.append(timed(client, f"/ui/runs?{PAGE}", page_headers))
                api.append(timed(client, f"/runs?{PAGE}", api_headers))
    fake.stop()
    page_ms = statistics.median(pages) * 1e3
    api_ms = statistics.median(api) * 1e3
    print(f"{RUNS:,} runs in {len(REPOS)} repositories (seeded in {seeded:.1f} s); page of 25")
    print(f"first /ui/runs, cold cache: {cold * 1e3:8.1f} ms ({asked} permission calls to GitHub)")
    print(f"/ui/runs first page:        {page_ms:8.1f} ms/request (median of {ROUNDS} rounds)")
    print(f"GET /runs same page:        {api_ms:8.1f} ms/request")
    print(f"ratio: {page_ms / api_ms:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
