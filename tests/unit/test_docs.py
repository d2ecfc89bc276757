"""The deploy guide and the cost figures cannot rot silently.

``docs/deploy.md`` is followed by hand, once, by someone with an empty account: its shell
blocks must parse, set every variable before use, never change directory (the guide runs
from the repository root with Terraform's ``-chdir``), name only paths, scripts and ``make``
targets that exist, package through ``scripts/chalice_package.py`` and count the functions
the code defines. The README's idle cost is the floor that ``docs/controller-cost.md`` adds up.
"""

from __future__ import annotations

import ast
import glob
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "deploy.md").read_text()
# The docs whose repository paths are checked (each names files a reader opens or runs).
DOCS = ["docs/deploy.md", "docs/github.md", "docs/costs.md", "docs/controller-cost.md", "README.md"]
STAGE = "prod"
TOP_DIRS = r"(?:\.venv|\.chalice|terraform|scripts|runners|chalicelib|docs|ansible|requirements)"
PATH = re.compile(rf"(?<![\w./$-])({TOP_DIRS}/[\w./<>$*-]*[\w*>])")
# Made by the steps themselves (Terraform's state, Chalice's own deploy records).
MADE_BY_THE_STEPS = {"terraform/bootstrap/terraform.tfstate", ".chalice/deployed"}
NUMBERS = {4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def shell_lines() -> list[str]:
    """The guide's shell lines in order, continuation lines joined."""
    lines = []
    for block in shell_blocks(GUIDE):
        lines += block.replace("\\\n", " ").splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def without_comment(line: str) -> str:
    return re.sub(r"\s+#.*$", "", line)


def created_by_the_guide() -> set[str]:
    """Targets of ``cp``, ``mkdir`` and ``>`` in the shell blocks."""
    made = set()
    for line in shell_lines():
        line = without_comment(line)
        for match in re.finditer(r"(?:^|&&\s*)cp\s+\S+\s+(\S+)", line):
            made.add(match.group(1))
        made.update(re.findall(r">\s*([\w./-]+)", line))
        made.update(re.findall(r"mkdir -p (\S+)", line))
    return made


def test_the_shell_blocks_parse() -> None:
    blocks = shell_blocks(GUIDE)
    assert len(blocks) >= 8
    for block in blocks:
        checked = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True)
        assert checked.returncode == 0, (block, checked.stderr)


def test_every_variable_is_set_before_it_is_used() -> None:
    assigned = {"PWD", "HOME"}  # the shell's own
    for line in shell_lines():
        code = without_comment(line)
        code = re.sub(r"'[^']*'", "''", code)  # jq programs: their $names are jq's
        used = set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", code))
        assert used <= assigned, (line, used - assigned)
        assigned.update(re.findall(r"(?:^|\s)([A-Z_][A-Z0-9_]*)=", code))


def test_the_guide_never_changes_directory_and_terraform_is_absolute() -> None:
    for line in shell_lines():
        assert not re.search(r"(?:^|[;&|]\s*)cd\s", without_comment(line)), line
    [tf] = [line for line in shell_lines() if line.startswith("TF=")]
    assert re.match(r'TF="?(\$PWD/|/)', tf), tf


@pytest.mark.parametrize("doc", DOCS)
def test_every_repository_path_a_doc_names_exists(doc: str) -> None:
    text = (ROOT / doc).read_text()
    made = created_by_the_guide() if doc == "docs/deploy.md" else set()
    for path in sorted(set(PATH.findall(text))):
        if path in made or path in MADE_BY_THE_STEPS or path.startswith(".venv/"):
            continue
        pattern = re.sub(r"<[^>]*>", "*", path.replace("$STAGE", STAGE))
        assert glob.glob(str(ROOT / pattern)), f"{doc} names {path}, which does not exist"


def test_terraform_runs_where_its_backend_files_are() -> None:
    """``-backend-config=FILE`` is read from the ``-chdir`` directory."""
    for line in shell_lines():
        chdir = re.search(r"-chdir=(\S+)", line)
        for config in re.findall(r"-backend-config=([\w.$/-]+\.tfbackend)", line):
            assert chdir, line
            assert (ROOT / chdir.group(1) / config.replace("$STAGE", STAGE)).is_file(), line


def test_the_tools_it_runs_come_with_make_setup() -> None:
    venv = Path(sys.executable).parent
    for tool in sorted(set(re.findall(r"\.venv/bin/([\w-]+)", GUIDE))):
        assert (venv / tool).exists(), f".venv/bin/{tool} is not installed by make setup"


def test_every_make_target_it_names_is_defined() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    for doc in DOCS:
        for target in re.findall(r"`make ([\w-]+)", (ROOT / doc).read_text()):
            assert target in targets, f"{doc}: make {target}"


def test_the_package_is_built_through_the_wrapper() -> None:
    lines = [without_comment(line) for line in shell_lines()]
    assert any(
        re.match(r"\.venv/bin/python scripts/chalice_package\.py --stage", line) for line in lines
    )
    assert not [line for line in lines if re.search(r"chalice\s+package", line)]


def functions_in_code() -> set[str]:
    tree = ast.parse((ROOT / "chalicelib" / "workers.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else None
                if isinstance(call, ast.Attribute) and getattr(call.value, "id", "") == "workers":
                    names.add(node.name)
    return names | {"api_handler"}  # the API: every route of app.py in one function


def test_the_guide_counts_and_names_the_functions_the_code_defines() -> None:
    functions = functions_in_code()
    assert len(functions) == 6
    prose = " ".join(GUIDE.split())
    assert f"{NUMBERS[len(functions)]} functions" in prose
    for number, word in NUMBERS.items():
        if number != len(functions):
            assert f"the {word} functions" not in prose, word
    for name in functions:
        assert f"`{name}`" in GUIDE, name


def idle_floor() -> tuple[str, float]:
    text = (ROOT / "docs" / "controller-cost.md").read_text()
    floor = re.search(r"^## While idle: about \$([\d.]+) a month$", text, re.M)
    assert floor, "controller-cost.md states the idle floor in a heading"
    section = text[floor.end() : text.index("\n## ", floor.end())]
    items = re.findall(r"^\|[^|]+\| \$([\d.]+) \|$", section, re.M)
    return floor.group(1), sum(float(item) for item in items)


def test_the_idle_floor_adds_up_and_the_readme_states_it() -> None:
    stated, total = idle_floor()
    assert abs(total - float(stated)) <= 0.05, (stated, total)
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "costs nothing while idle" not in readme
    assert f"idle, it costs about ${stated} a month" in readme
