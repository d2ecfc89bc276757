from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from chalicelib.plans import PlanParseError, parse_plan, summarize_plan

from .conftest import CORPUS, corpus_files, valid_corpus_files

# Written out again here, from Terraform's documentation of the JSON output format, so that the
# test does not trust the code's own table.
EXPECTED_ACTION = {
    "create": "create",
    "update": "update",
    "delete": "delete",
    "delete,create": "replace",
    "create,delete": "replace",
    "read": "read",
    "no-op": "no-op",
}


def _expected_group(rc: dict) -> str:
    action = EXPECTED_ACTION[",".join(rc["change"]["actions"])]
    if action != "no-op":
        return action
    if rc["change"].get("importing") is not None:
        return "import"
    moved = rc.get("previous_address")
    return "move" if moved and moved != rc["address"] else "no-op"


def _expected_counts(path: Path) -> Counter[str]:
    # json.loads detects UTF-16 by itself (RFC 8259 encodings), an independent decoder.
    doc = json.loads(path.read_bytes())
    return Counter(_expected_group(rc) for rc in doc.get("resource_changes", []))


def test_corpus_is_complete() -> None:
    manifest = json.loads((CORPUS / "MANIFEST.json").read_text())
    assert len(corpus_files()) == len(manifest) == 36


@pytest.mark.parametrize("values", [True, False], ids=["values", "overview"])
@pytest.mark.parametrize(
    "path", valid_corpus_files(), ids=lambda p: p.relative_to(CORPUS).as_posix()
)
def test_summary_counts_match_resource_changes(path: Path, values: bool) -> None:
    summary = summarize_plan(parse_plan(path.read_bytes(), values=values))

    expected = _expected_counts(path)
    assert {a: n for a, n in summary.counts.items() if n} == dict(expected)
    assert sum(len(entries) for entries in summary.resources.values()) == expected.total()


def test_resources_keep_terraform_order_and_reasons() -> None:
    path = CORPUS / "terraform-json" / "action_reason.plan.json"
    summary = summarize_plan(parse_plan(path.read_bytes()))

    (entry,) = summary.resources["replace"]
    doc = json.loads(path.read_bytes())
    assert entry.address == doc["resource_changes"][0]["address"]
    assert entry.reason == doc["resource_changes"][0]["action_reason"]


def test_moved_resource_keeps_its_previous_address() -> None:
    summary = summarize_plan(
        parse_plan((CORPUS / "terraform-json/moved_block.plan.json").read_bytes())
    )

    # A pure move is a change Terraform applies (it exits 2): it has its own group.
    (entry,) = summary.resources["move"]
    assert entry.previous_address is not None
    assert summary.moves == 1
    assert summary.has_changes


def test_malformed_json_is_a_clear_error() -> None:
    with pytest.raises(PlanParseError, match=r"not a Terraform plan JSON .*Invalid JSON"):
        parse_plan((CORPUS / "terraform-json/invalid.plan.json").read_bytes())


def test_utf16_plan_is_decoded() -> None:
    raw = (CORPUS / "checkov/plan_with_utf_16_encoding.tfplan.json").read_bytes()
    assert raw[:2] == b"\xff\xfe"

    summary = summarize_plan(parse_plan(raw))

    assert summary.counts["create"] == 3


def test_utf16_that_does_not_decode_is_a_clear_error() -> None:
    with pytest.raises(PlanParseError, match="UTF-16"):
        parse_plan(b"\xff\xfe{\x00\x00\xd8")  # a lone surrogate


def test_utf8_bom_is_accepted() -> None:
    raw = b"\xef\xbb\xbf" + (CORPUS / "terraform-json/deep_module.plan.json").read_bytes()
    assert summarize_plan(parse_plan(raw)).counts["create"] == 1


def test_outputs_only_plan_has_no_resource_changes() -> None:
    doc = {
        "format_version": "0.2",
        "terraform_version": "1.0.3",
        "output_changes": {"x": {"actions": ["create"], "after": 1}},
    }
    summary = summarize_plan(parse_plan(json.dumps(doc)))

    assert sum(summary.counts.values()) == 0
    assert summary.outputs_changed == 1
    assert summary.has_changes


def test_json_that_is_not_a_plan_names_the_missing_field() -> None:
    with pytest.raises(PlanParseError, match="format_version"):
        parse_plan(b'{"hello": "world"}')


def test_unknown_action_list_is_unrecognised_not_an_error() -> None:
    doc = {
        "format_version": "1.2",
        "resource_changes": [
            {"address": "a.b", "type": "a", "name": "b", "change": {"actions": ["explode"]}}
        ],
    }
    summary = summarize_plan(parse_plan(json.dumps(doc)))

    (entry,) = summary.resources["unrecognised"]
    assert entry.actions == ("explode",)
    assert summary.has_changes
