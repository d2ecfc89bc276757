from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.costs.exceptions import InfracostFormatError, UnsupportedInfracostVersionError
from chalicelib.costs.infracost import parse_infracost
from chalicelib.costs.model import Estimator

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "infracost"
ALL_FILES = sorted(p.name for p in (FIXTURES / "json").glob("*.json"))
ZERO = Decimal(0)

# Hand-edited upstream fixtures whose root totals are not the sum of their projects
# (see tests/fixtures/infracost/README.md).
ROOT_TOTAL_MISMATCH = {
    "no_diff.json": "upstream trimmed the resources but kept the root totals",
    "without_module_path.json": "two projects of 40.561 under a root total of 40.561",
}


def test_the_corpus_is_complete_and_unmodified() -> None:
    manifest = json.loads((FIXTURES / "MANIFEST.json").read_text())
    assert len(ALL_FILES) == 23
    for entry in manifest:
        data = (FIXTURES / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_corpus_file_parses_and_project_totals_match_resources(name: str) -> None:
    raw = json.loads((FIXTURES / "json" / name).read_bytes())
    report = parse_infracost((FIXTURES / "json" / name).read_bytes())

    assert report.estimator is Estimator.INFRACOST
    assert report.currency == raw.get("currency", "USD")  # azure_firewall_out has none
    assert len(report.projects) == len(raw["projects"])
    for project in report.projects:
        after = sum((r.monthly_cost or ZERO for r in project.resources), ZERO)
        assert after == project.monthly_cost, project.name
        if project.past_monthly_cost is not None:
            past = sum((r.past_monthly_cost or ZERO for r in project.resources), ZERO)
            assert past == project.past_monthly_cost, project.name


@pytest.mark.parametrize("name", ALL_FILES)
def test_root_totals_are_the_sum_of_projects(name: str) -> None:
    report = parse_infracost((FIXTURES / "json" / name).read_bytes())
    projects = sum((p.monthly_cost for p in report.projects), ZERO)
    if name in ROOT_TOTAL_MISMATCH:
        assert projects != report.total_monthly_cost, "fixed upstream? drop the exception"
        return
    assert projects == report.total_monthly_cost
    if report.past_total_monthly_cost is not None:
        past = sum((p.past_monthly_cost or ZERO for p in report.projects), ZERO)
        assert past == report.past_total_monthly_cost


@pytest.mark.parametrize("name", ALL_FILES)
def test_resource_changes_match_the_files_diff_section(name: str) -> None:
    raw = json.loads((FIXTURES / "json" / name).read_bytes())
    report = parse_infracost(raw)
    for project, raw_project in zip(report.projects, raw["projects"], strict=True):
        if not raw_project.get("diff"):
            continue
        theirs = {
            r["name"]: Decimal(r["monthlyCost"])
            for r in raw_project["diff"]["resources"]
            if r.get("monthlyCost") not in (None, "0")
        }
        ours = {r.address: r.diff for r in project.resources if r.diff}
        if name == "without_module_path.json" and project.name == "different_name_plan":
            assert set(theirs) - set(ours) == {"aws_instance.instance_2"}
            continue
        assert ours == theirs, project.name


def _load(name: str):
    return parse_infracost((FIXTURES / "json" / name).read_bytes())


def test_money_is_decimal_exactly_as_written() -> None:
    report = parse_infracost((FIXTURES / "json" / "breakdown_format_json.json").read_bytes())
    assert report.total_monthly_cost == Decimal("1361.3075")
    assert report.total_monthly_usage_cost == Decimal("436.6675")
    lam = next(r for r in report.resources if r.address == "aws_lambda_function.hello_world")
    assert isinstance(lam.monthly_cost, Decimal)
    assert lam.usage_based
    web = next(r for r in report.resources if r.address == "aws_instance.web_app")
    assert not web.usage_based
    names = [c.name for c in web.components]
    assert "ebs_block_device[0]: Provisioned IOPS" in names


def test_null_past_means_no_baseline() -> None:
    report = parse_infracost((FIXTURES / "json" / "example_out.json").read_bytes())
    assert report.past_total_monthly_cost is None
    assert report.diff_total_monthly_cost is None
    report = _load("ToMarkdown_NoPreviousBreakdown.json")
    project = report.projects[0]
    assert project.past_monthly_cost is None and project.diff is None
    assert all(r.diff is None for r in project.resources)


def test_a_decrease_is_negative_and_sorted_by_impact() -> None:
    report = parse_infracost((FIXTURES / "json" / "multi_project_names.json").read_bytes())
    assert report.diff_total_monthly_cost == Decimal("-2241.684")
    diffs = [abs(r.diff or ZERO) for r in report.changed_resources()]
    assert diffs == sorted(diffs, reverse=True)


def test_deleted_resources_keep_their_past_cost() -> None:
    report = _load("diff_with_compare_to_format_json.json")
    by_address = {r.address: r for r in report.resources}
    gone = by_address["aws_instance.web_app2"]  # only in pastBreakdown
    assert (gone.past_monthly_cost, gone.monthly_cost) == (Decimal("1303.28"), 0)
    assert gone.diff == Decimal("-1303.28")
    assert by_address["aws_instance.web_app"].diff == Decimal("560.64")
    assert report.diff_total_monthly_cost == Decimal("-742.64")


def test_project_errors_are_kept() -> None:
    report = parse_infracost((FIXTURES / "json" / "quota_exceeded.json").read_bytes())
    assert report.projects[0].errors == ("Infracost free monthly run limit exceeded.",)


def test_unsupported_resource_counts_become_unpriced() -> None:
    report = parse_infracost((FIXTURES / "json" / "no_diff.json").read_bytes())
    types = {u.resource_type: u.count for u in report.unpriced}
    assert types["aws_appstream_fleet"] == 1
    assert len(types) == 6


@pytest.mark.parametrize("version", ["0.3", "0.1", 2, None])
def test_other_versions_are_refused_with_a_clear_error(version: object) -> None:
    doc = json.loads((FIXTURES / "json" / "terraform_v0.14_breakdown.json").read_bytes())
    doc["version"] = version
    with pytest.raises(UnsupportedInfracostVersionError) as err:
        parse_infracost(json.dumps(doc))
    assert "v0.10" in str(err.value) and repr(version) in str(err.value)
    assert err.value.version == version


def test_a_newer_format_is_refused_by_its_version_not_by_a_field() -> None:
    # The shape changed in Infracost 2.0; the error must name the version, not a field.
    doc = {"version": "1.0", "projects": "not-a-list", "totalMonthlyCost": {"amount": 1}}
    with pytest.raises(UnsupportedInfracostVersionError):
        parse_infracost(json.dumps(doc).encode())


@pytest.mark.parametrize(
    "document",
    [b"not json", b"[]", b'{"version": "0.2", "projects": 3}', b'{"version": "0.2", '],
)
def test_non_infracost_documents_are_refused(document: bytes) -> None:
    with pytest.raises(InfracostFormatError) as err:
        parse_infracost(document)
    assert not isinstance(err.value, UnsupportedInfracostVersionError)
    assert str(err.value).startswith("not Infracost JSON")
