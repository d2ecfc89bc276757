"""The state mark read from a saved plan file: the ``tfstate`` member, never ``tfstate-prev``."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from runners.terraform_cli import plan_state_mark

LINEAGE = "1812aff1-da04-7b5b-7e5b-5912f3bbffa9"


def _plan_file(path: Path, members: dict[str, dict]) -> Path:
    """A plan zip laid out as Terraform 1.0 to 1.11 write it (tfplan, tfstate, tfstate-prev)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tfplan", b"\x00binary plan")
        for name, doc in members.items():
            archive.writestr(name, json.dumps(doc))
    return path


def test_the_plan_carries_the_serial_of_the_state_it_was_made_from(tmp_path):
    # What Terraform 1.0.3 and 1.11.4 write on a second plan: tfstate-prev is a blank.
    plan = _plan_file(
        tmp_path / "p.tfplan",
        {
            "tfstate": {"version": 4, "serial": 4, "lineage": LINEAGE},
            "tfstate-prev": {"version": 4, "serial": 0, "lineage": ""},
        },
    )
    assert plan_state_mark(plan) == {"serial": 4, "lineage": LINEAGE}


def test_a_plan_made_on_no_state_has_no_mark(tmp_path):
    blank = {"version": 4, "serial": 0, "lineage": ""}
    plan = _plan_file(tmp_path / "p.tfplan", {"tfstate": blank, "tfstate-prev": blank})
    assert plan_state_mark(plan) == {"serial": None, "lineage": None}
    assert plan_state_mark(_plan_file(tmp_path / "q.tfplan", {})) == {
        "serial": None,
        "lineage": None,
    }
