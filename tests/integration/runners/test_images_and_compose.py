"""Image build with buildah into Debian's docker-registry on loopback, skopeo inspection,
and the compose tag rewrite checked by check-jsonschema's compose schema, committed back."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from chalicelib.local.image_registry import LocalRegistry
from runners.compose import rewrite_image_tags, validate_compose

from .conftest import FIXTURES, git

pytestmark = pytest.mark.slow
COMPOSE = FIXTURES / "compose"


@pytest.mark.parametrize("name", ["app-docker-compose.yml", "indented-docker-compose.yml"])
def test_rewrite_keeps_real_compose_files_valid_and_only_changes_tags(tmp_path, name):
    original = (COMPOSE / name).read_text()
    path = tmp_path / "docker-compose.yml"
    path.write_text(original)
    assert validate_compose(path) == (True, "ok -- validation done")
    text, changed = rewrite_image_tags(original, {"maestrops/backend": "9-abcdef0"})
    path.write_text(text)
    ok, message = validate_compose(path)
    assert ok, message
    assert changed == ["backend"]
    old_lines, new_lines = original.splitlines(), text.splitlines()
    assert len(old_lines) == len(new_lines)
    differing = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(differing) == 1 and "maestrops/backend:9-abcdef0" in differing[0][1]


def test_invalid_compose_file_is_reported(tmp_path):
    path = tmp_path / "docker-compose.yml"
    path.write_text("services:\n  web:\n    image: [not, a, string]\n")
    ok, message = validate_compose(path)
    assert not ok and "image" in message


@pytest.fixture
def registry(tmp_path):
    with LocalRegistry(tmp_path / "registry") as address:
        yield address


def test_build_push_and_commit_back(bench, registry):
    bench.commit("images", "app")
    shutil.copy(COMPOSE / "app-docker-compose.yml", bench.repo / "app" / "docker-compose.yml")
    sha = bench.write_and_commit("app/.keep", "")
    git(bench.repo, "branch", "-M", "integration")
    origin = bench.root / "origin.git"
    git(bench.root, "clone", "-q", "--bare", str(bench.repo), str(origin))
    steps = [
        (
            "images",
            "image_build",
            {
                "registry": registry,
                "tls_verify": False,
                "images": [{"name": "maestrops/backend", "context": "app/backend"}],
            },
        ),
        ("compose", "compose_rewrite", {"compose_file": "docker-compose.yml"}),
    ]
    job = bench.job(
        "ci-4", sha, steps, pipeline="ci-application", clone_url=str(origin),
        branch="integration", run_number=4, working_dir="app",
    )  # fmt: skip
    assert bench.run(job) == 0, bench.steps_of("ci-4")

    ref = f"{registry}/maestrops/backend:4-{sha[:7]}"
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(inspected.stdout)["RepoTags"] == [f"4-{sha[:7]}"]

    pushed = git(origin, "log", "-1", "--format=%s", "integration")
    assert pushed.endswith("[maestro-bot]") and f"4-{sha[:7]}" in pushed
    digest = json.loads(inspected.stdout)["Digest"]
    compose = git(origin, "show", "integration:app/docker-compose.yml")
    # The commit names the image the hosts must pull: registry, this run's tag, its digest.
    assert f"image: {registry}/maestrops/backend:4-{sha[:7]}@{digest}\n" in compose
    assert "image: maestrops/backend:" not in compose
    assert "# The notes application as deployed" in compose
    diff = git(origin, "diff", "--stat", f"{sha}", "integration")
    assert "1 file changed, 1 insertion(+), 1 deletion(-)" in diff
