"""A repository that points its runs outside the checkout: real git, real Terraform, real runner.

Each test snapshots everything outside the run's own folder (the source repository, a bait
stack beside it) and proves that nothing there changed, and that the run said why it stopped.
The ``.gitops.yml`` validation refuses these paths earlier
(tests/unit/pipelines/test_config_hostile.py); here the job is written by hand, as a forged or
stale job would be, to test the runner's check.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

PLAN = [("init", "terraform_init", {}), ("plan", "terraform_plan", {})]


def test_a_symlinked_terraform_folder_pointing_outside_is_refused(world):
    sha = world.commit(links={"terraform/infra": str(world.outside)})
    before = world.outside_the_run()
    assert world.run(world.job(sha, PLAN)) == 1
    done = world.finished()
    assert done["failed_step"] == "checkout"
    assert "symlinks leading outside it: terraform/infra" in world.reason()
    assert world.outside_the_run() == before
    assert not (world.outside / ".terraform").exists()


@pytest.mark.parametrize("target", ["../../../outside", "/etc/passwd", "/nonexistent/later"])
def test_any_committed_link_leading_out_is_refused_even_a_dangling_one(world, target):
    world.commit_stack()
    sha = world.commit(links={"terraform/infra/.terraform": target})
    before = world.outside_the_run()
    assert world.run(world.job(sha, PLAN)) == 1
    assert "leading outside it: terraform/infra/.terraform" in world.reason()
    assert world.outside_the_run() == before


def test_links_that_stay_inside_the_checkout_are_fine(world):
    world.commit_stack("stacks/real")
    sha = world.commit(links={"terraform/infra": "../stacks/real"})
    assert world.run(world.job(sha, PLAN)) == 0, world.finished()


@pytest.mark.parametrize("working_dir", ["OUTSIDE", "../outside", "terraform/../../outside"])
def test_a_terraform_dir_outside_the_checkout_never_runs_terraform_there(world, working_dir):
    sha = world.commit_stack()
    working_dir = working_dir.replace("OUTSIDE", str(world.outside))
    before = world.outside_the_run()
    assert world.run(world.job(sha, PLAN, working_dir=working_dir)) == 1
    assert world.finished()["failed_step"] == "init"
    assert f"terraform.dir {working_dir!r}" in world.reason()
    assert world.outside_the_run() == before
    assert not (world.outside / ".terraform").exists()
    assert not list(world.outside.glob("zz_maestro_*"))


@pytest.mark.parametrize("workspace", ["../../x/pwn", "../../../outside/pwn", "/tmp/pwn", "a/b"])
def test_a_workspace_name_never_places_state_outside_the_state_folder(world, workspace):
    sha = world.commit_stack()
    before = world.outside_the_run()
    assert world.run(world.job(sha, PLAN, workspace=workspace)) == 1
    assert world.finished()["failed_step"] == "init"
    assert f"workspace {workspace!r} is not a valid workspace name" in world.reason()
    assert world.outside_the_run() == before
    assert not list(world.root.rglob("pwn.tfstate"))


def test_a_committed_backend_override_link_is_replaced_not_followed(world):
    world.commit_stack()
    (world.repo / "terraform" / "infra" / "victim.txt").write_text("keep me\n")
    sha = world.commit(
        links={"terraform/infra/zz_maestro_backend_override.tf": "victim.txt"},
    )
    assert world.run(world.job(sha, PLAN)) == 0, world.finished()
    checkout = world.run_dir / "scratch" / "repo" / "terraform" / "infra"
    assert (checkout / "victim.txt").read_text() == "keep me\n"


@pytest.mark.parametrize("compose_file", ["OUTSIDE/docker-compose.yml", "../outside/c.yml"])
def test_a_compose_file_outside_the_checkout_is_never_rewritten(world, compose_file):
    (world.outside / "docker-compose.yml").write_text("services:\n  web:\n    image: a/b:1\n")
    (world.outside / "c.yml").write_text("services:\n  web:\n    image: a/b:1\n")
    sha = world.commit({"app/README.md": "app\n"})
    compose_file = compose_file.replace("OUTSIDE", str(world.outside))
    steps = [("rewrite", "compose_rewrite", {"compose_file": compose_file, "images": {"a/b": "2"}})]
    before = world.outside_the_run()
    job = world.job(sha, steps, pipeline="ci-application", working_dir="app", branch="integration")
    assert world.run(job) == 1
    assert "compose_file" in world.reason()
    assert world.outside_the_run() == before


@pytest.mark.parametrize(
    ("context", "dockerfile"),
    [("OUTSIDE", "Dockerfile"), ("app", "../../outside/Dockerfile"), ("../outside", "Dockerfile")],
)
def test_an_image_context_or_dockerfile_outside_the_checkout_is_never_built(
    world, context, dockerfile
):
    (world.outside / "Dockerfile").write_text("FROM scratch\nCOPY main.tf /\n")
    sha = world.commit({"app/Dockerfile": "FROM scratch\n"})
    image = {"name": "acme/web", "context": context.replace("OUTSIDE", str(world.outside))}
    image["dockerfile"] = dockerfile
    steps = [("build", "image_build", {"images": [image], "registry": "127.0.0.1:9"})]
    job = world.job(sha, steps, pipeline="ci-application", working_dir="app")
    before = world.outside_the_run()
    code = world.run(job)
    if code == 0:
        pytest.skip(f"buildah cannot run here ({world.reason()}): it stops before the images")
    assert code == 1
    assert "images[]." in world.reason()
    assert world.outside_the_run() == before


@pytest.mark.parametrize("playbook", ["OUTSIDE/pwn.yml", "../outside/pwn.yml"])
def test_a_playbook_outside_the_checkout_never_runs(world, playbook):
    marker = world.outside / "ran"
    (world.outside / "pwn.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        f"    - ansible.builtin.file: {{path: {marker}, state: touch}}\n"
    )
    sha = world.commit({"ansible/site.yml": "- hosts: localhost\n  tasks: []\n"})
    (world.run_dir).mkdir(exist_ok=True)
    inventory = "localhost ansible_connection=local\n"
    sha = world.commit({"inventory.ini": inventory})
    params = {
        "playbook": playbook.replace("OUTSIDE", str(world.outside)),
        "inventory": "inventory.ini",
    }
    job = world.job(
        sha, [("monitoring", "ansible_playbook", params)], pipeline="ansible-monitoring"
    )
    before = world.outside_the_run()
    assert world.run(job) == 1
    assert "ansible.playbook" in world.reason()
    assert not marker.exists()
    assert world.outside_the_run() == before
