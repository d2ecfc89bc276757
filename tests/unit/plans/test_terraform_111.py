"""The summary says what Terraform says, over real plans made by Terraform 1.11.

Each fixture in tests/fixtures/terraform-plans-1.11 comes with Terraform's own human output
(``terraform show -no-color``); the counts here are read from that text, not from the code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.plans import describe_changes, parse_plan, summarize_plan
from runners.plan_summary import plan_summary

TF111 = Path(__file__).resolve().parents[2] / "fixtures" / "terraform-plans-1.11"
NAMES = sorted(p.name.removesuffix(".plan.json") for p in TF111.glob("*.plan.json"))
PLAN_LINE = re.compile(
    r"^Plan: (?:(\d+) to import, )?(\d+) to add, (\d+) to change, (\d+) to destroy", re.M
)


def _raw(name: str) -> bytes:
    return (TF111 / f"{name}.plan.json").read_bytes()


def _text(name: str) -> str:
    return (TF111 / f"{name}.plan.txt").read_text()


def test_every_fixture_is_listed_with_its_origin() -> None:
    manifest = json.loads((TF111 / "MANIFEST.json").read_text())
    assert sorted(manifest) == NAMES
    assert len(NAMES) >= 9
    for name in NAMES:
        version = json.loads(_raw(name))["terraform_version"]
        assert manifest[name]["terraform"] == version
        assert tuple(int(x) for x in version.split(".")[:2]) >= (1, 7)


@pytest.mark.parametrize("values", [True, False], ids=["values", "overview"])
@pytest.mark.parametrize("name", NAMES)
def test_counts_agree_with_terraform_own_plan_line(name: str, values: bool) -> None:
    summary = summarize_plan(parse_plan(_raw(name), values=values))
    text = _text(name)

    match = PLAN_LINE.search(text)
    if match is None:  # refresh-only and outputs-only plans have no "Plan:" line
        assert not any(summary.counts[a] for a in ("create", "update", "delete", "replace"))
    else:
        imports, add, change, destroy = (int(g or 0) for g in match.groups())
        c = summary.counts
        assert summary.imports == imports
        assert c["create"] + c["replace"] == add
        assert c["update"] == change
        assert c["delete"] + c["replace"] == destroy
    assert summary.moves == text.count(" has moved to ")
    assert summary.count("forget") == text.count("will no longer be managed by Terraform")
    if "This is a refresh-only plan" in text:
        assert summary.refresh_only
        assert len(summary.drift) == text.count(" has changed\n")
    else:
        assert not summary.refresh_only


def test_moves_only_is_a_change() -> None:
    summary = summarize_plan(parse_plan(_raw("moves_only")))

    assert summary.has_changes  # Terraform exits 2 for it
    assert summary.moves == summary.counts["move"] == 5
    assert [e.previous_address for e in summary.resources["move"]] == [
        f"null_resource.{n}" for n in "abcde"
    ]


def test_imports_are_counted_and_keep_their_ids() -> None:
    summary = summarize_plan(parse_plan(_raw("imports")))

    assert summary.imports == 5
    assert [e.import_id for e in summary.resources["import"]] == [f"/legacy/p{i}" for i in range(5)]
    assert summary.counts["create"] == summary.counts["update"] == 1


def test_drift_is_read_and_a_refresh_only_plan_is_recognised() -> None:
    drift = summarize_plan(parse_plan(_raw("drift")))
    refresh = summarize_plan(parse_plan(_raw("refresh_only")))

    assert len(drift.drift) == 6 and not drift.refresh_only
    assert refresh.refresh_only and len(refresh.drift) == 6
    assert refresh.has_changes  # applying it writes the drift into the state
    assert refresh.applyable is True and refresh.errored is False


def test_forget_and_create_before_destroy_are_told_apart() -> None:
    forget = summarize_plan(parse_plan(_raw("forget")))
    cbd = summarize_plan(parse_plan(_raw("create_before_destroy")))

    assert [e.address for e in forget.resources["forget"]] == [
        "aws_ebs_volume.data",
        "null_resource.keep",
    ]
    by_address = {e.address: e for e in cbd.resources["replace"]}
    assert by_address["null_resource.cbd"].create_before_destroy
    assert not by_address["null_resource.plain"].create_before_destroy


def test_failed_check_blocks_are_read() -> None:
    summary = summarize_plan(parse_plan(_raw("failed_check")))

    (failure,) = summary.failed_checks
    assert failure.address == "check.health"
    assert failure.messages == ("the health endpoint is not configured",)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("moves_only", "5 to move"),
        ("outputs_only", "2 output(s) to change"),
        ("refresh_only", "refresh-only: 6 changed outside Terraform"),
        ("imports", "1 to create, 1 to update, 5 to import"),
        ("forget", "2 to forget"),
    ],
)
def test_runner_plan_step_reason_is_never_no_changes_for_a_plan_that_changes(
    name: str, reason: str
) -> None:
    document = plan_summary(_raw(name))

    assert document["has_changes"] is True
    assert document["description"] == reason


def _mutated() -> bytes:
    """A plan as a newer Terraform might write it: new fields, a new action, format 2.0."""
    doc = json.loads(_raw("imports"))
    doc["format_version"] = "2.0"
    doc["action_invocations"] = [{"address": "action.notify.all", "type": "notify"}]
    first = doc["resource_changes"][0]
    first["change"]["actions"] = ["create", "frobnicate"]
    first["change"]["generated_config"] = 'resource "x" "y" {}'
    first["identity"] = {"arn": "arn:aws:ssm:::x"}
    doc["resource_drift"][0]["change"]["actions"] = ["transmogrify"]
    return json.dumps(doc).encode()


@pytest.mark.parametrize("values", [True, False], ids=["values", "overview"])
def test_unknown_fields_and_actions_degrade_to_unrecognised(values: bool) -> None:
    summary = summarize_plan(parse_plan(_mutated(), values=values))

    (entry,) = summary.resources["unrecognised"]
    assert entry.actions == ("create", "frobnicate")
    assert summary.newer_format
    assert summary.has_changes
    assert "1 to unrecognised" in describe_changes(summary)


def _newer_terraform() -> str | None:
    """A Terraform >= 1.7 on this machine, if any (never required)."""
    candidates = [os.environ.get("MAESTRO_NEW_TERRAFORM"), "/usr/local/bin/terraform"]
    candidates.append(shutil.which("terraform"))
    for candidate in filter(None, candidates):
        try:
            done = subprocess.run(
                [candidate, "version", "-json"], capture_output=True, text=True, timeout=30
            )
            version = json.loads(done.stdout)["terraform_version"]
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
            continue
        if tuple(int(x) for x in version.split(".")[:2]) >= (1, 7):
            return candidate
    return None


NULL_SCENARIOS = ["moves_only", "create_before_destroy", "failed_check", "outputs_only"]


@pytest.mark.slow
def test_regenerated_plans_have_the_committed_structure(tmp_path: Path) -> None:
    terraform = _newer_terraform()
    if terraform is None:
        pytest.skip("no Terraform >= 1.7 here: the committed fixtures stand alone")
    script = (
        Path(__file__).resolve().parents[3] / "scripts" / "fixtures" / "make_terraform_plans.py"
    )
    args = ["--terraform", terraform, "--no-aws", "--out", str(tmp_path), "--only"]
    done = subprocess.run(
        [sys.executable, str(script), *args, *NULL_SCENARIOS], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr

    for name in NULL_SCENARIOS:
        fresh = summarize_plan(parse_plan((tmp_path / f"{name}.plan.json").read_bytes()))
        committed = summarize_plan(parse_plan(_raw(name)))
        assert fresh.model_dump(exclude={"terraform_version"}) == committed.model_dump(
            exclude={"terraform_version"}
        ), name


@pytest.mark.parametrize("name", NAMES)
def test_has_changes_agrees_with_terraform_exit_code(name: str) -> None:
    manifest = json.loads((TF111 / "MANIFEST.json").read_text())
    summary = summarize_plan(parse_plan(_raw(name), values=False))

    # terraform plan -detailed-exitcode: 0 nothing to apply, 2 changes (moves, imports,
    # forgets, outputs and a refresh-only plan's drift included).
    assert summary.has_changes == (manifest[name]["plan_exit_code"] == 2)
