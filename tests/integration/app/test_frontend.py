"""The frontend's own checks, driven from pytest: vitest, the type check and the build."""

from __future__ import annotations

import json
import re
from pathlib import Path

from notes_stack import FRONTEND, npm


def test_vitest_suite_passes(tmp_path: Path) -> None:
    report = tmp_path / "vitest.json"
    result = npm("exec", "--", "vitest", "run", "--reporter=json", f"--outputFile={report}")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(report.read_text())
    assert summary["numFailedTests"] == 0
    # Both suites ran: the component tests and the HTTP client tests.
    suites = {Path(s["name"]).name for s in summary["testResults"]}
    assert suites == {"App.test.tsx", "api.test.ts"}
    assert summary["numPassedTests"] >= 10


def test_production_build_references_its_assets(frontend_dist: Path) -> None:
    index = (frontend_dist / "index.html").read_text()
    assets = re.findall(r'(?:src|href)="/(assets/[^"]+)"', index)
    assert any(a.endswith(".js") for a in assets), index
    for asset in assets:
        assert (frontend_dist / asset).stat().st_size > 0
    bundle = next(frontend_dist.glob("assets/*.js")).read_text()
    assert "/api" in bundle  # the client calls the API relative to the page's origin


def test_lock_file_matches_package_json() -> None:
    package = json.loads((FRONTEND / "package.json").read_text())
    lock = json.loads((FRONTEND / "package-lock.json").read_text())
    root = lock["packages"][""]
    assert root["dependencies"] == package["dependencies"]
    assert root["devDependencies"] == package["devDependencies"]
