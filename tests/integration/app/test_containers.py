"""Dockerfiles and the compose file, checked with the real linters and the deploy's rules.

No container engine runs here, so the images are linted (hadolint), not built.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import notes_stack as stack
import pytest
from ruamel.yaml import YAML

BIN = Path(sys.executable).parent
DOCKERFILES = [stack.APP / "backend" / "Dockerfile", stack.APP / "frontend" / "Dockerfile"]
COMPOSE = stack.APP / "docker-compose.yml"
IMAGE = re.compile(r"^maestrops/(backend|frontend):(\d+)-([0-9a-f]{7})$")


def hadolint(path: Path) -> list[dict]:
    argv = [str(BIN / "hadolint"), "--no-color", "--format", "json", str(path)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    return json.loads(result.stdout or "[]")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_is_hadolint_clean(dockerfile: Path) -> None:
    assert hadolint(dockerfile) == []


def test_hadolint_reports_a_bad_dockerfile(tmp_path: Path) -> None:
    # Guards the check above: an unpinned base image and apt without pins must be reported.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    codes = {finding["code"] for finding in hadolint(bad)}
    assert {"DL3007", "DL3008"} <= codes


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_is_multi_stage_pinned_non_root_with_healthcheck(dockerfile: Path) -> None:
    lines = [line.strip() for line in dockerfile.read_text().splitlines()]
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert len(bases) >= 2, "multi-stage: a build stage and a runtime stage"
    for base in bases:
        tag = base.rpartition(":")[2]
        assert re.search(r"\d+\.\d+", tag), f"{base}: pin the base image to a version"
    final_stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    users = [line.split()[1] for line in final_stage if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK ") for line in final_stage)
    assert (dockerfile.parent / ".dockerignore").is_file()


def test_compose_file_matches_the_compose_schema() -> None:
    argv = [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_rejects_an_unknown_key(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  web:\n    image: nginx:1.29\n    restart_policy: always\n")
    argv = [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "restart_policy" in result.stdout + result.stderr


def test_application_images_carry_run_number_and_short_sha() -> None:
    services = stack.compose()["services"]
    tags = {}
    for name in ("backend", "frontend"):
        match = IMAGE.match(services[name]["image"])
        assert match and match.group(1) == name, services[name]["image"]
        tags[name] = match.group(2, 3)
    assert tags["backend"] == tags["frontend"], "one build tags both images"


def test_tag_rewrite_round_trips_and_touches_only_image_lines() -> None:
    # What the ci-application pipeline does (runners/compose.py): a round-trip load with
    # quotes kept and no re-wrapping, set the tags, dump, commit back. The file is laid out
    # the way that dump writes it, so a build's commit changes the two tags and nothing else.
    original = COMPOSE.read_text()
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    document = yaml.load(original)
    for name in ("backend", "frontend"):
        document["services"][name]["image"] = f"maestrops/{name}:57-1b2c3d4"
    out = io.StringIO()
    yaml.dump(document, out)
    changed = [
        (before, after)
        for before, after in zip(original.splitlines(), out.getvalue().splitlines(), strict=True)
        if before != after
    ]
    assert changed == [
        ("    image: maestrops/backend:4-0a3087a", "    image: maestrops/backend:57-1b2c3d4"),
        ("    image: maestrops/frontend:4-0a3087a", "    image: maestrops/frontend:57-1b2c3d4"),
    ]


def test_every_service_has_a_health_check_and_postgres_a_named_volume() -> None:
    compose = stack.compose()
    for name, service in compose["services"].items():
        assert "test" in service.get("healthcheck", {}), f"{name} has no health check"
    volume = compose["services"]["db"]["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_secrets_only_come_from_the_env_file() -> None:
    compose = stack.compose()
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*)?\}", str(value)), f"{name}.{key}"
    assert compose["services"]["backend"]["env_file"] == ".env"
    assert compose["services"]["db"]["env_file"] == ".env"
    text = COMPOSE.read_text()
    assert "PASSWORD" not in text, "passwords belong in .env only"
    # Every variable the compose file interpolates is documented in .env.example.
    example = (stack.APP / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert interpolated <= documented


def test_traefik_sends_nothing_home() -> None:
    command = stack.compose()["services"]["traefik"]["command"]
    assert "--global.checkNewVersion=false" in command
    assert "--global.sendAnonymousUsage=false" in command


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"\[.*\]", "", name).lower()] = version
    return pins


def test_image_requirements_match_the_test_environment_pins() -> None:
    image = _pins((stack.BACKEND / "requirements.txt").read_text().splitlines())
    tested = _pins((stack.REPO / "requirements" / "app.txt").read_text().splitlines())
    project = tomllib.loads((stack.REPO / "pyproject.toml").read_text())
    tested.update(_pins(project["project"]["dependencies"]))
    assert {name: tested.get(name) for name in image} == image
