"""The GitHub adapter against the fake GitHub server (every request checked by OpenAPI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.feedback.markers import RunMarker, parse_url_marker, thread_marker, with_url_marker
from chalicelib.githost.base import CommitStatus, GitHost, ShaNotFoundError
from chalicelib.githost.github import GitHub
from chalicelib.githost.http import GitHubApiError, GitHubHttp

from .conftest import INSTALLATION_ID, Clock
from .fake_github import FakeGitHub

REPO = "acme/infra"
SHA = "0a3087a6c1d2e3f405162738495a6b7c8d9e0f1a"
T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def body(seq: int, text: str = "plan", minutes: int = 0, thread: str = "terraform-plan") -> str:
    marker = RunMarker(run_id=f"run-{seq}", seq=seq, commit_time=T0 + timedelta(minutes=minutes))
    return f"{thread_marker(thread)}\n{marker.render()}\n{text}"


def test_github_implements_the_githost_protocol(github: GitHub) -> None:
    host: GitHost = github
    assert callable(host.post_comment)


def test_read_file_at_a_commit(github: GitHub, fake: FakeGitHub) -> None:
    fake.add_commit(REPO, SHA, {".gitops.yml": "pipelines: {}\n", "infra/main.tf": "# tf\n"})

    assert github.read_file(REPO, ".gitops.yml", SHA) == "pipelines: {}\n"
    assert github.read_file(REPO, "infra/main.tf", SHA) == "# tf\n"
    assert github.read_file(REPO, "missing.yml", SHA) is None
    with pytest.raises(ShaNotFoundError):
        github.read_file(REPO, ".gitops.yml", "f" * 40)


def test_update_in_place_keeps_one_comment(github: GitHub, fake: FakeGitHub) -> None:
    fake.comments[(REPO, 7)] = [{"id": 1, "node_id": "IC_1", "body": "LGTM"}]

    first = github.post_comment(REPO, 7, body(1, "first"), thread="terraform-plan")
    second = github.post_comment(REPO, 7, body(2, "second"), thread="terraform-plan")

    assert first == second
    assert fake.thread_bodies(REPO, 7) == ["LGTM", body(2, "second")]


def test_threads_are_kept_apart(github: GitHub, fake: FakeGitHub) -> None:
    github.post_comment(REPO, 7, body(1, "plan"), thread="terraform-plan")
    github.post_comment(
        REPO, 7, body(1, "part 2", thread="terraform-plan/part-2"), thread="terraform-plan/part-2"
    )
    github.post_comment(REPO, 7, body(2, "plan again"), thread="terraform-plan")

    assert fake.thread_bodies(REPO, 7) == [
        body(2, "plan again"),
        body(1, "part 2", thread="terraform-plan/part-2"),
    ]


def test_an_older_result_never_overwrites_a_newer_one(github: GitHub, fake: FakeGitHub) -> None:
    newest = github.post_comment(
        REPO, 7, body(5, "newer commit", minutes=10), thread="terraform-plan"
    )

    kept = github.post_comment(
        REPO, 7, body(6, "older commit, later run", minutes=0), thread="terraform-plan"
    )

    assert kept == newest
    assert fake.thread_bodies(REPO, 7) == [body(5, "newer commit", minutes=10)]
    assert [r.method for r in fake.requests].count("PATCH") == 0


def test_new_behaviour_adds_a_comment(github: GitHub, fake: FakeGitHub) -> None:
    github.post_comment(REPO, 7, body(1), thread="terraform-plan", behaviour="new")
    github.post_comment(REPO, 7, body(2), thread="terraform-plan", behaviour="new")

    assert fake.thread_bodies(REPO, 7) == [body(1), body(2)]


def test_hide_and_new_minimizes_older_comments(github: GitHub, fake: FakeGitHub) -> None:
    github.post_comment(REPO, 7, body(1), thread="terraform-plan", behaviour="hide-and-new")
    old_node = fake.comments[(REPO, 7)][0]["node_id"]

    github.post_comment(REPO, 7, body(2), thread="terraform-plan", behaviour="hide-and-new")

    assert fake.thread_bodies(REPO, 7) == [body(1), body(2)]
    assert fake.minimized == [old_node]


def test_delete_and_new_removes_older_comments(github: GitHub, fake: FakeGitHub) -> None:
    github.post_comment(REPO, 7, body(1), thread="terraform-plan", behaviour="delete-and-new")
    github.post_comment(REPO, 7, body(2), thread="terraform-plan", behaviour="delete-and-new")

    assert fake.thread_bodies(REPO, 7) == [body(2)]


def test_comments_are_found_across_pages(github: GitHub, fake: FakeGitHub) -> None:
    fake.comments[(REPO, 7)] = [
        {"id": i, "node_id": f"IC_{i}", "body": f"chatter {i}"} for i in range(1, 231)
    ]
    fake.comments[(REPO, 7)].append({"id": 999, "node_id": "IC_999", "body": body(1)})

    assert github.post_comment(REPO, 7, body(2), thread="terraform-plan") == "999"
    pages = [r.query.get("page") for r in fake.requests if r.method == "GET"]
    assert pages == [["1"], ["2"], ["3"]]


def test_commit_status(github: GitHub, fake: FakeGitHub) -> None:
    status = CommitStatus(
        context="maestrops/terraform-plan",
        state="success",
        description="+3 ~1 -0, +$12.40/mo",
        target_url="https://maestrops.example.com/runs/r1",
    )
    github.set_status(REPO, SHA, status)

    assert fake.statuses == [
        {
            "repo": REPO,
            "sha": SHA,
            "state": "success",
            "context": "maestrops/terraform-plan",
            "description": "+3 ~1 -0, +$12.40/mo",
            "target_url": "https://maestrops.example.com/runs/r1",
        }
    ]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("pending", {"status": "in_progress"}),
        ("failure", {"status": "completed", "conclusion": "failure"}),
    ],
)
def test_check_run_mode(
    http: GitHubHttp, fake: FakeGitHub, state: str, expected: dict[str, str]
) -> None:
    github = GitHub(http, status_mode="check-run")
    github.set_status(
        REPO, SHA, CommitStatus(context="maestrops/terraform-plan", state=state, description="x")
    )  # type: ignore[arg-type]

    (run,) = fake.check_runs
    assert run["name"] == "maestrops/terraform-plan"
    assert run["head_sha"] == SHA
    assert {k: run[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("permission", "allowed"),
    [
        ({"permission": "admin", "role_name": "admin"}, True),
        ({"permission": "write", "role_name": "write"}, True),
        ({"permission": "write", "role_name": "maintain"}, True),
        ({"permission": "read", "role_name": "triage"}, False),
        ({"permission": "read", "role_name": "read"}, False),
        ({"permission": "none", "role_name": "none"}, False),
    ],
)
def test_write_access_for_comment_commands(
    github: GitHub, fake: FakeGitHub, permission: dict[str, str], allowed: bool
) -> None:
    fake.permissions[(REPO, "octocat")] = permission
    assert github.has_write_access(REPO, "octocat") is allowed


def test_unknown_user_has_no_access(github: GitHub) -> None:
    assert github.has_write_access(REPO, "stranger") is False


def test_reaction_acknowledges_a_command(github: GitHub, fake: FakeGitHub) -> None:
    github.add_reaction(REPO, 4242, "eyes")
    assert fake.reactions == [(4242, "eyes")]


def test_app_auth_fetches_and_caches_the_installation_token(
    app_http: GitHubHttp, fake: FakeGitHub, clock: Clock
) -> None:
    github = GitHub(app_http)
    fake.add_commit(REPO, SHA, {"a.txt": "a"})

    for _ in range(3):
        github.read_file(REPO, "a.txt", SHA)
    clock.now += 56 * 60  # 4 minutes before expiry: inside the 5-minute refresh margin
    github.read_file(REPO, "a.txt", SHA)

    token_calls = [r for r in fake.requests if r.path.startswith("/app/")]
    assert [r.path for r in token_calls] == [
        f"/app/installations/{INSTALLATION_ID}/access_tokens"
    ] * 2
    assert all(r.authorization.startswith("Bearer ey") for r in token_calls)  # type: ignore[union-attr]
    used = {r.authorization for r in fake.requests if r.path.startswith("/repos/")}
    assert len(used) == 2 and all(u.startswith("token ghs_fake") for u in used)  # type: ignore[union-attr]


def test_revoked_installation_token_is_renewed_once(app_http: GitHubHttp, fake: FakeGitHub) -> None:
    github = GitHub(app_http)
    fake.add_commit(REPO, SHA, {"a.txt": "a"})
    github.read_file(REPO, "a.txt", SHA)
    fake.installation_tokens.clear()  # GitHub revoked every token

    assert github.read_file(REPO, "a.txt", SHA) == "a"
    assert len([r for r in fake.requests if r.path.startswith("/app/")]) == 2


def test_bad_credentials_fail_with_the_request_recorded(fake: FakeGitHub, clock: Clock) -> None:
    from chalicelib.githost.github_auth import TokenAuth

    http = GitHubHttp(
        auth=TokenAuth(lambda: "ghp_wrong"), base_url=fake.url, sleep=clock.sleep, clock=clock
    )
    with pytest.raises(GitHubApiError) as error:
        GitHub(http).set_status(
            REPO, SHA, CommitStatus(context="c", state="pending", description="d")
        )

    assert error.value.record() == {
        "method": "POST",
        "path": f"/repos/acme/infra/statuses/{SHA}",
        "status": 401,
        "message": "Bad credentials",
        "attempts": 2,
    }


def parts(seq: int, count: int, minutes: int = 0) -> list[str]:
    threads = ["terraform-plan"] + [f"terraform-plan/part-{n}" for n in range(2, count + 1)]
    return [body(seq, f"part {i + 1}", minutes, thread=t) for i, t in enumerate(threads)]


def test_fewer_parts_retire_the_leftover_ones(github: GitHub, fake: FakeGitHub) -> None:
    github.post_comment_parts(REPO, 7, parts(1, 3), thread="terraform-plan")
    listings = sum(r.method == "GET" for r in fake.requests)

    github.post_comment_parts(REPO, 7, parts(2, 2), thread="terraform-plan")

    assert fake.thread_bodies(REPO, 7) == parts(2, 2)
    assert sum(r.method == "GET" for r in fake.requests) == listings + 1  # one listing per call


def test_leftover_parts_are_minimized_with_hide_and_new(github: GitHub, fake: FakeGitHub) -> None:
    github.post_comment_parts(
        REPO, 7, parts(1, 3), thread="terraform-plan", behaviour="hide-and-new"
    )
    old_part_3 = fake.comments[(REPO, 7)][2]["node_id"]

    github.post_comment_parts(
        REPO, 7, parts(2, 2), thread="terraform-plan", behaviour="hide-and-new"
    )

    assert len(fake.thread_bodies(REPO, 7)) == 5
    assert old_part_3 in fake.minimized


def test_an_older_short_result_leaves_newer_parts_alone(github: GitHub, fake: FakeGitHub) -> None:
    newer = parts(5, 3, minutes=10)
    github.post_comment_parts(REPO, 7, newer, thread="terraform-plan")

    github.post_comment_parts(REPO, 7, parts(4, 1), thread="terraform-plan")

    assert fake.thread_bodies(REPO, 7) == newer


def _status(seq: int, state: str, minutes: int = 0) -> CommitStatus:
    marker = RunMarker(run_id=f"run-{seq}", seq=seq, commit_time=T0 + timedelta(minutes=minutes))
    url = with_url_marker(f"https://maestrops.example.com/runs/run-{seq}", marker)
    return CommitStatus(
        context="maestrops/terraform-plan", state=state, description=state, target_url=url
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["status", "check-run"])
def test_an_older_run_never_overwrites_a_newer_status(
    http: GitHubHttp, fake: FakeGitHub, mode: str
) -> None:
    github = GitHub(http, status_mode=mode)  # type: ignore[arg-type]
    github.set_status(REPO, SHA, _status(4, "pending"))
    github.set_status(REPO, SHA, _status(5, "pending"))
    github.set_status(REPO, SHA, _status(4, "failure"))  # run 4 finishes after run 5 started
    github.set_status(REPO, SHA, _status(5, "success"))

    written = fake.statuses if mode == "status" else fake.check_runs
    assert len(written) == 3
    urls = [w.get("target_url") or w.get("details_url") for w in written]
    assert [parse_url_marker(u).seq for u in urls] == [4, 5, 5]  # type: ignore[union-attr]
