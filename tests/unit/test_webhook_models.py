from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.events.exceptions import MalformedPayloadError
from chalicelib.events.signature import is_valid_signature, sign
from chalicelib.events.trigger import SUPPORTED_EVENTS, trigger_from_payload
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
