"""Every Terraform file is formatted by the project's Terraform and parses with python-hcl2;
every variable says what it is."""

from __future__ import annotations

import subprocess

import hcl2
import pytest

ROOTS = ["infra", "controller", "bootstrap", "examples/null-stack"]


def test_terraform_fmt_check_is_clean(kit) -> None:
    result = subprocess.run(
        [
            str(kit.terraform_binary()),
            "fmt",
            "-check",
            "-recursive",
            "-diff",
            str(kit.TERRAFORM_DIR),
        ],
        capture_output=True,
        text=True,
        env={"CHECKPOINT_DISABLE": "1", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


def test_every_file_parses_with_python_hcl2(kit) -> None:
    files = kit.terraform_files() + sorted(kit.TERRAFORM_DIR.rglob("*.tfvars.example"))
    files += sorted(kit.TERRAFORM_DIR.rglob("*.tfbackend"))
    assert len(files) > 20  # the whole tree, not an empty glob
    for path in files:
        hcl2.loads(path.read_text())  # raises on a syntax error


@pytest.mark.parametrize("root", ROOTS)
def test_each_root_module_has_versions_and_documented_variables(root: str, hcl, kit) -> None:
    variables = [
        (f, var_name, body)
        for f in hcl.files
        if f.path.parent == kit.TERRAFORM_DIR / root
        for entry in f.body.get("variable", [])
        for var_name, body in entry.items()
    ]
    assert variables, f"{root} declares no variables"
    for f, name, body in variables:
        assert len(body.get("description", "")) > 15, f"{f.path.name}: variable {name} undocumented"
        assert "type" in body, f"{f.path.name}: variable {name} has no type"
    required = [
        f for f in hcl.files if f.path.parent == kit.TERRAFORM_DIR / root and "terraform" in f.body
    ]
    assert required, f"{root} pins no Terraform or provider version"


def test_instance_types_are_validated(hcl) -> None:
    variables = {
        name: body
        for entry in hcl.file("infra/variables.tf").body["variable"]
        for name, body in entry.items()
    }
    for name in ("app_instance_type", "monitoring_instance_type", "domain", "environment"):
        assert variables[name].get("validation"), f"{name} has no validation"


def test_tfvars_example_sets_only_declared_variables(hcl, kit) -> None:
    for root in ("infra", "controller"):
        declared = {
            name
            for f in hcl.files
            if f.path.parent == kit.TERRAFORM_DIR / root
            for entry in f.body.get("variable", [])
            for name in entry
        }
        example = hcl2.loads((kit.TERRAFORM_DIR / root / "terraform.tfvars.example").read_text())
        names = {k for k in example if not k.startswith("__")}
        assert len(names) > 5
        assert names <= declared, names - declared
