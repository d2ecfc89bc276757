from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.events.exceptions import MalformedPayloadError
from chalicelib.events.models import valid_full_name
from chalicelib.events.signature import is_valid_signature, sign
from chalicelib.events.trigger import SUPPORTED_EVENTS, trigger_from_payload
from chalicelib.settings import Settings, repo_matches
from tests.payloads import load_event, pull_request, push

EXAMPLES = Path("node_modules/@octokit/webhooks-examples")


def octokit_examples() -> list[tuple[str, str, dict]]:
    index_files = sorted(EXAMPLES.glob("*/index.json"))
    if not index_files:
        pytest.fail("@octokit/webhooks-examples is not installed: run `make setup`")
    found = []
    for index in index_files:
        for event in json.loads(index.read_text()):
            if event["name"] in SUPPORTED_EVENTS:
                for number, example in enumerate(event["examples"]):
                    found.append(
                        (f"{index.parent.name}/{event['name']}#{number}", event["name"], example)
                    )
    return found


def test_every_octokit_example_of_the_supported_events_parses() -> None:
    examples = octokit_examples()
    counts: dict[str, int] = {}
    for label, event, payload in examples:
        trigger = trigger_from_payload(event, label, json.dumps(payload).encode())
        assert trigger.repo == payload["repository"]["full_name"], label
        counts[event] = counts.get(event, 0) + 1
    assert counts["push"] >= 7 and counts["pull_request"] >= 29 and counts["issue_comment"] >= 9


def test_push_trigger_carries_branch_sha_and_message() -> None:
    trigger = trigger_from_payload(
        "push", "d1", json.dumps(push("infra_features", "c" * 40)).encode()
    )
    assert (trigger.branch, trigger.sha, trigger.commit_message) == (
        "infra_features",
        "c" * 40,
        "change",
    )


def test_tag_push_has_no_branch() -> None:
    payload = push("x")
    payload["ref"] = "refs/tags/v1"
    assert trigger_from_payload("push", "d", json.dumps(payload).encode()).branch is None


def test_pull_request_from_fork_is_flagged() -> None:
    payload = pull_request("opened", "infra_features", "infra_main", fork=True)
    trigger = trigger_from_payload("pull_request", "d", json.dumps(payload).encode())
    assert trigger.from_fork and trigger.pr == 7 and trigger.base_branch == "infra_main"


def test_comment_on_pull_request_knows_its_pr() -> None:
    payload = load_event("issue_comment.on_pull_request")
    trigger = trigger_from_payload("issue_comment", "d", json.dumps(payload).encode())
    assert trigger.pr == payload["issue"]["number"]
    plain = load_event("issue_comment.created")
    assert trigger_from_payload("issue_comment", "d", json.dumps(plain).encode()).pr is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"ref": "refs/heads/x"}', "push payload: before: Field required"),
        (b"[]", "push payload: body: Input should be an object"),
    ],
)
def test_malformed_payloads_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayloadError, match=message.replace("(", r"\(")):
        trigger_from_payload("push", "d", body)


def test_signature_round_trip_and_rejections() -> None:
    body = b'{"a": 1}'
    header = sign(b"secret", body)
    assert is_valid_signature(b"secret", body, header)
    assert not is_valid_signature(b"other", body, header)
    assert not is_valid_signature(b"secret", body + b" ", header)
    assert not is_valid_signature(b"secret", body, None)
    assert not is_valid_signature(b"secret", body, header.replace("sha256=", "sha1="))


BAD_FULL_NAMES = [
    "acme/../x",
    "../x/y",
    "acme/..",
    "acme/.",
    "acme",
    "acme/b/svc",
    "/acme/x",
    "acme/x/",
    "-acme/x",
    "acme-/x",
    "ac--me/x",
    "a" * 40 + "/x",
    "acme/" + "x" * 101,
    "acme/x y",
    "acme/x\x00",
    "acme\\x/y",
    "",
]


@pytest.mark.parametrize("name", BAD_FULL_NAMES)
@pytest.mark.parametrize("event", ["push", "pull_request", "issue_comment"])
def test_repository_names_github_would_not_allow_are_refused(event: str, name: str) -> None:
    if event == "push":
        payload = push("infra_features")
    elif event == "pull_request":
        payload = pull_request("opened", "infra_features", "infra_main")
    else:
        payload = load_event("issue_comment.on_pull_request")
    payload["repository"]["full_name"] = name
    with pytest.raises(MalformedPayloadError, match=r"repository\.full_name"):
        trigger_from_payload(event, "d", json.dumps(payload).encode())


def test_a_fork_head_with_a_bad_name_is_refused_too() -> None:
    payload = pull_request("opened", "infra_features", "infra_main", fork=True)
    payload["pull_request"]["head"]["repo"]["full_name"] = "evil/../../x"
    with pytest.raises(MalformedPayloadError, match=r"head\.repo\.full_name"):
        trigger_from_payload("pull_request", "d", json.dumps(payload).encode())


@pytest.mark.parametrize(
    "name", ["acme/infra", "a/b", "octo-org/hello.world", "A1-b2/_x-.y", "a" * 39 + "/" + "x" * 100]
)
def test_names_github_allows_pass(name: str) -> None:
    assert valid_full_name(name) == name


@pytest.mark.parametrize(
    ("pattern", "repo", "allowed"),
    [
        ("team-*/svc", "team-a/svc", True),
        ("team-*/svc", "team-a/b/svc", False),  # a wildcard never crosses "/"
        ("acme/*", "acme/infra", True),
        ("acme/*", "acme/infra/x", False),
        ("acme*", "acme/infra", False),
        ("*/infra", "acme/infra", True),
        ("*/*", "acme/infra", True),
        ("*", "acme/infra", True),  # "*" alone: every repository
        ("acme/in?ra", "acme/infra", True),
        ("acme/[a-h]*", "acme/infra", False),
        ("Acme/infra", "acme/infra", False),
    ],
)
def test_allow_list_globs_match_one_segment_at_a_time(
    pattern: str, repo: str, allowed: bool
) -> None:
    assert repo_matches(repo, pattern) is allowed
    assert Settings(allowed_repos=[pattern]).is_repo_allowed(repo) is allowed
    assert (
        Settings.from_env({"MAESTRO_ALLOWED_REPOS": f" x/y , {pattern}"}).is_repo_allowed(repo)
        is allowed
    )
