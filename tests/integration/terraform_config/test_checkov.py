"""checkov over terraform/: no failed check; every skip carries its reason next to the resource."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

SKIP_COMMENT = re.compile(r"#checkov:skip=(CKV2?_AWS_\d+)(?::(.*))?$")


@pytest.fixture(scope="module")
def checkov_report(kit) -> dict:
    checkov = kit.REPO / ".venv-checkov" / "bin" / "checkov"
    if not checkov.is_file():
        pytest.fail("checkov is missing: run `make setup` (scripts/setup/terraform-checks.sh)")
    result = subprocess.run(
        [
            str(checkov),
            "--directory",
            str(kit.TERRAFORM_DIR),
            "--framework",
            "terraform",
            "--skip-download",  # no policy download from the platform: offline and reproducible
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(kit.REPO / ".venv-checkov")},
    )
    assert result.stdout, result.stderr[-3000:]
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_finds_no_failed_check(checkov_report) -> None:
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 80  # every root and module was scanned
    failed = [
        f"{f['check_id']} {f['resource']} ({f['file_path']}): {f['check_name']}"
        for f in checkov_report["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)


def test_every_skip_has_a_written_reason(kit, checkov_report) -> None:
    skips = []
    for path in kit.terraform_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = SKIP_COMMENT.search(line)
            if match:
                skips.append((path, number, match.group(1), (match.group(2) or "").strip()))
    assert skips
    for path, number, check, reason in skips:
        assert len(reason) >= 30, f"{path}:{number}: {check} skipped without a reason"
    # checkov honoured each of them (a skip on the wrong block would show up as failed above).
    skipped = {s["check_id"] for s in checkov_report["results"].get("skipped_checks", [])}
    assert {check for *_, check, _ in skips} <= skipped
