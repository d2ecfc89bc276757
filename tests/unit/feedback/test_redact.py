from __future__ import annotations

import json

import pytest

from chalicelib.feedback.redact import REDACTED, redact, sensitive_values
from chalicelib.feedback.render import render_plan_comments_from_json

from .conftest import make_context

SECRET_SAMPLES = [
    ("aws key id AKIAIOSFODNN7EXAMPLE in text", "AKIAIOSFODNN7EXAMPLE"),
    ("GITHUB_TOKEN=ghp_" + "a1B2" * 9, "ghp_"),
    ("token github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_pat_"),
    ("slack xoxb-123456789012-abcdefghijkl", "xoxb-"),
    ("jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ", "eyJhbGci"),
    ("git clone https://deploy:hunter22@git.example.com/x.git", "hunter22"),
    ('password = "correct horse"', "correct horse"),
    ('  ~ db_password = "old-one" -> "new-one"', "new-one"),
    ('"client_secret": "s3cr3t-value"', "s3cr3t-value"),
    ("export API_KEY=abcdef123456", "abcdef123456"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nAbCd\n-----END RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA",
    ),
]


@pytest.mark.parametrize(("text", "secret"), SECRET_SAMPLES)
def test_secret_looking_strings_are_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert REDACTED in out


@pytest.mark.parametrize(
    "text",
    [
        "token = (sensitive value)",
        "password = (known after apply)",
        "token_count = 5",
        "secret_name = null",
        "+ aws_instance.web will be created",
        'ami = "ami-0123456789abcdef0"',
    ],
)
def test_ordinary_plan_lines_stay(text: str) -> None:
    assert redact(text) == text


def test_known_sensitive_values_are_masked_everywhere() -> None:
    assert redact("echo Tr0ub4dor in a log", {"Tr0ub4dor", "ab"}) == f"echo {REDACTED} in a log"


def test_sensitive_values_follow_terraform_marks() -> None:
    value = {"name": "db", "password": "pw-123456", "nested": [{"k": "v-secret"}, {"k": "plain"}]}
    marks = {"password": True, "nested": [{"k": True}, {}]}

    assert sensitive_values([(value, marks)]) == {"pw-123456", "v-secret"}
    assert sensitive_values([(value, True)]) == {"db", "pw-123456", "v-secret", "plain"}
    assert sensitive_values([(value, False)]) == set()


def test_plan_comment_never_shows_a_sensitive_value_even_when_it_leaks_elsewhere() -> None:
    secret = "Zq9-very-private-value"
    after = {"password": secret, "user_data": f"#!/bin/sh\necho {secret}\n", "name": "db"}
    doc = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "aws_db_instance.main",
                "type": "aws_db_instance",
                "name": "main",
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": after,
                    "after_unknown": {},
                    "after_sensitive": {"password": True},
                },
            }
        ],
        "output_changes": {
            "dsn": {
                "actions": ["create"],
                "after": f"postgres://db/{secret}",
                "after_sensitive": True,
            }
        },
    }
    _, comments = render_plan_comments_from_json(json.dumps(doc).encode(), make_context())

    text = "\n".join(comments)
    assert secret not in text
    assert "password = (sensitive value)" in text
    assert f'user_data = "#!/bin/sh\\necho {REDACTED}\\n"' in text


def test_plan_text_and_log_tail_are_redacted() -> None:
    from chalicelib.feedback.render import render_result_comments

    comments = render_result_comments(
        make_context("terraform-apply"),
        succeeded=False,
        headline="Apply failed.",
        failed_step="terraform_apply",
        log_tail="Error: auth failed for AKIAIOSFODNN7EXAMPLE\n",
    )
    assert "AKIAIOSFODNN7EXAMPLE" not in comments[0]


def test_sensitive_outputs_are_masked_in_terraform_text() -> None:
    doc = {
        "format_version": "1.2",
        "output_changes": {
            "db_url": {
                "actions": ["create"],
                "after": "postgres://app@db/prod-Qx81",
                "after_sensitive": True,
            }
        },
    }
    plan_text = "Changes to Outputs:\n  + db_url = postgres://app@db/prod-Qx81\n"
    _, comments = render_plan_comments_from_json(
        json.dumps(doc).encode(), make_context(), plan_text=plan_text
    )

    assert "prod-Qx81" not in comments[0]
    assert f"db_url = {REDACTED}" in comments[0]


def test_a_huge_log_tail_stays_in_one_comment() -> None:
    from chalicelib.feedback.render import render_result_comments
    from chalicelib.feedback.split import GITHUB_COMMENT_LIMIT, gh_len

    log = "\n".join("x" * 5_000 for _ in range(100))
    comments = render_result_comments(
        make_context("cd-application"), succeeded=False, headline="Deploy failed.", log_tail=log
    )

    assert len(comments) == 1
    assert gh_len(comments[0]) <= GITHUB_COMMENT_LIMIT
    assert comments[0].rstrip().endswith("_… the full log is in the run linked above._")


CANARY = "canary-Webhook-Secret-7f3a"


def _encodings(secret: str) -> list[str]:
    """Every form the masking promises to hide, computed here without the code under test."""
    import base64
    import urllib.parse

    raw = secret.encode()
    return [
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        raw.hex().upper(),
        urllib.parse.quote(secret, safe=""),
    ]


@pytest.mark.parametrize("prefix", ["", "x", "xy", "HOME=/root\0PATH=/bin\0WEBHOOK_SECRET="])
def test_base64_of_a_secret_inside_a_longer_blob_is_masked_at_any_offset(prefix: str) -> None:
    import base64

    blob = base64.b64encode(f"{prefix}{CANARY}\0API_TOKEN=x".encode()).decode()
    masked = redact(blob, [CANARY])

    assert REDACTED in masked
    # What is left, decoded from any starting character, never gives the secret back.
    for piece in masked.split(REDACTED):
        for start in range(4):
            chunk = piece[start:].rstrip("=")
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            assert CANARY.encode() not in base64.b64decode(chunk)


def test_every_encoded_form_is_masked_in_values_and_addresses() -> None:
    from chalicelib.feedback.redact import redact_address

    for form in _encodings(CANARY):
        assert form not in redact(f"value = {form}!", [CANARY]), form
        assert form not in redact_address(f'null_resource.x["{form}"]', [CANARY]), form


def test_a_short_secret_does_not_eat_into_words_of_an_address() -> None:
    from chalicelib.feedback.redact import redact_address

    assert redact_address("aws_s3_bucket.maestrops", ["maestro"]) == "aws_s3_bucket.maestrops"
    assert redact_address('null_resource.k["maestro"]', ["maestro"]) == (
        'null_resource.k["(redacted)"]'
    )


def test_result_comment_masks_the_log_but_not_its_own_links() -> None:
    from chalicelib.feedback.render import render_result_comments

    (comment,) = render_result_comments(
        make_context(),
        succeeded=False,
        headline="Apply failed with maestro in the message.",
        failed_step="apply",
        log_tail=f"connecting with maestro\ntoken {CANARY.encode().hex()}",
        sensitive=["maestro", CANARY],
    )

    assert "(https://maestrops.example.com/runs/01JD7X0RUN)" in comment
    assert "with (redacted) in the message" in comment
    assert "connecting with (redacted)" in comment
    assert CANARY.encode().hex() not in comment
